"""YAML with line numbers: each document's data plus the line of every field path in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass
class PositionedDocument:
    """One YAML document, its data, and where each field path starts (1-based lines)."""

    data: Any
    source: str
    line: int
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of the deepest known prefix of a field path."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return self.line


def _record(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                child = (*path, str(key_node.value))
                lines[child] = key_node.start_mark.line + 1
                _record(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _record(item, child, lines)


def load_documents(text: str, source: str) -> list[PositionedDocument]:
    """Parse multi-document YAML; raises yaml.YAMLError with its own line on bad syntax."""
    documents = []
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[Path, int] = {}
            _record(node, (), lines)
            data = loader.construct_document(node)
            if data is None:
                continue
            documents.append(PositionedDocument(data, source, node.start_mark.line + 1, lines))
    finally:
        loader.dispose()
    return documents
