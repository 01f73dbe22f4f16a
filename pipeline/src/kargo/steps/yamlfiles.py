"""YAML files read and written round-trip (ruamel.yaml): comments, key order, quotes kept."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from kargo.steps.failures import StepErrored


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines that were not folded
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def _indentation(text: str) -> tuple[int, int]:
    """(sequence indent, dash offset) the file already uses for block sequences under keys."""
    lines = text.splitlines()
    for number, line in enumerate(lines[:-1]):
        stripped = line.rstrip()
        if stripped.endswith(":") and not stripped.lstrip().startswith("#"):
            following = lines[number + 1]
            if following.lstrip().startswith("- "):
                offset = len(following) - len(following.lstrip()) - (len(line) - len(line.lstrip()))
                return (offset + 2, offset)
    return (2, 0)


def load_yaml(path: Path, kind: str, field: str = "path") -> tuple[Any, YAML]:
    """A YAML file's document, and the emitter that writes it back in the same style."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StepErrored(kind, f"cannot read {path.name}: {exc.strerror}", field) from exc
    yaml = _yaml()
    sequence, offset = _indentation(text)
    yaml.indent(mapping=2, sequence=sequence, offset=offset)
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise StepErrored(kind, f"{path.name} is not valid YAML: {exc}", field) from exc
    return (CommentedMap() if document is None else document), yaml


def dump_yaml(document: Any, yaml: YAML) -> str:
    """The document as text, in the emitter's style."""
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def write_yaml(path: Path, document: Any, yaml: YAML, kind: str) -> None:
    """Write the document back."""
    try:
        path.write_text(dump_yaml(document, yaml), encoding="utf-8")
    except OSError as exc:
        raise StepErrored(kind, f"cannot write {path.name}: {exc.strerror}", "path") from exc
