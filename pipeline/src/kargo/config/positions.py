"""YAML with line numbers: each document's data plus the line of every field path in it.

Reading refuses what Kubernetes' own decoder refuses (a key written twice in one mapping) and
bounds what YAML aliases can make of a small file: a text over `MAX_TEXT_BYTES`, or a document
whose nodes (aliases counted at every use) pass `MAX_NODES`, is refused before it is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

MAX_TEXT_BYTES = 4 * 1024 * 1024
"""The largest configuration text read (Kubernetes caps a request body at 3 MiB)."""
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (the same nodes and marks, several times faster)."""
MAX_NODES = 100_000
"""The most nodes one document may expand to, each alias counted every time it is used."""


class ConfigSyntaxError(ValueError):
    """A YAML text that parses but is not acceptable configuration (duplicate key, alias bomb)."""

    def __init__(self, line: int | None, path: str, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.path = path
        self.message = message


@dataclass
class PositionedDocument:
    """One YAML document, its data, and where each field path starts (1-based lines)."""

    data: Any
    source: str
    line: int
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of the deepest known prefix of a field path."""
        return line_in(self.lines, path, self.line)


def line_in(lines: Mapping[Path, int], path: Path, default: int) -> int:
    """The line of the deepest prefix of `path` found in `lines`, else `default`."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return default


def format_path(loc: Path) -> str:
    """`spec.steps[0].as` for ("spec", "steps", 0, "as")."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Walk:
    """Records field lines, refuses duplicate keys, and counts nodes with aliases expanded."""

    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}
        self.nodes = 0
        self._sizes: dict[int, int] = {}

    def size(self, node: yaml.Node) -> int:
        """Nodes under `node` with every alias expanded, computed once per node."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        self._sizes[id(node)] = 1  # a recursive alias counts once, then the limit stops it
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(self.size(k) + self.size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(self.size(item) for item in node.value)
        self._sizes[id(node)] = total
        return total

    def record(self, node: yaml.Node, path: Path, active: frozenset[int] = frozenset()) -> None:
        """Record the line of every field path (an alias's copy has its anchor's lines)."""
        if id(node) in active:
            raise ConfigSyntaxError(
                node.start_mark.line + 1, format_path(path), "a YAML alias refers to itself"
            )
        active = active | {id(node)}
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key == "<<":
                    continue
                if key in seen:
                    raise ConfigSyntaxError(
                        line,
                        format_path((*path, key)),
                        f"duplicate key {key!r} (first written on line {seen[key]}); "
                        "each key may appear once in a mapping",
                    )
                seen[key] = line
                child = (*path, key)
                self.lines[child] = line
                self.record(value_node, child, active)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                self.lines[child] = item.start_mark.line + 1
                self.record(item, child, active)


def _check(walk: _Walk, node: yaml.Node) -> None:
    expanded = walk.size(node)
    if expanded > MAX_NODES:
        raise ConfigSyntaxError(
            node.start_mark.line + 1,
            "",
            f"the document expands to more than {MAX_NODES} nodes through YAML aliases "
            f"({expanded}); write the repeated parts out or make them smaller",
        )
    walk.record(node, ())


def load_documents(
    text: str, source: str, refused: list[ConfigSyntaxError] | None = None
) -> list[PositionedDocument]:
    """Parse multi-document YAML; raises yaml.YAMLError or ConfigSyntaxError with its line.

    With `refused`, a document with a duplicate key or too many alias expansions is added there
    and the following documents are still read.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_TEXT_BYTES:
        raise ConfigSyntaxError(None, "", f"larger than {MAX_TEXT_BYTES // (1024 * 1024)} MiB")
    documents = []
    loader = _LOADER(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            walk = _Walk()
            try:
                _check(walk, node)
            except ConfigSyntaxError as exc:
                if refused is None:
                    raise
                refused.append(exc)
                continue
            data = loader.construct_document(node)
            if data is None:
                continue
            documents.append(PositionedDocument(data, source, node.start_mark.line + 1, walk.lines))
    finally:
        loader.dispose()
    return documents
