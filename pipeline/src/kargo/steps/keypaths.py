"""Key paths as Kargo's update steps write them (sjson syntax): `a.b.0.c`, `example\\.com/x`.

Dots separate keys, `\\.` is a literal dot, a number indexes a sequence and `-1` appends to one.
Missing mappings on the way are created; a key into a scalar is an error naming the path.
"""

from __future__ import annotations

from collections.abc import MutableMapping, MutableSequence
from typing import Any


class KeyPathError(ValueError):
    """A key path does not fit the document."""


def split_key(key: str) -> list[str]:
    """The parts of a dotted key path (`\\.` is a literal dot)."""
    if not key:
        raise KeyPathError("the key is empty")
    parts, current, escaped = [], "", False
    for char in key:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if any(part == "" for part in parts):
        raise KeyPathError(f"key {key!r} has an empty part")
    return parts


def _index(part: str, sequence: MutableSequence[Any], key: str) -> int:
    try:
        index = int(part)
    except ValueError:
        raise KeyPathError(f"{key!r}: {part!r} indexes a sequence, expected a number") from None
    if index == -1:
        return len(sequence)
    if not 0 <= index <= len(sequence):
        raise KeyPathError(f"{key!r}: index {index} is out of range ({len(sequence)} items)")
    return index


def set_value(document: Any, key: str, value: Any, new_mapping: Any = dict) -> None:
    """Set the value at a key path, creating mappings on the way."""
    parts = split_key(key)
    node = document
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, MutableMapping):
            if last:
                node[part] = value
                return
            if part not in node or node[part] is None:
                node[part] = new_mapping()
            node = node[part]
        elif isinstance(node, MutableSequence):
            index = _index(part, node, key)
            if last:
                if index == len(node):
                    node.append(value)
                else:
                    node[index] = value
                return
            if index == len(node):
                node.append(new_mapping())
            node = node[index]
        else:
            where = ".".join(parts[:depth]) or "the document"
            raise KeyPathError(f"{key!r}: {where} is a scalar, not a mapping or sequence")


def get_value(document: Any, key: str) -> Any:
    """The value at a key path (KeyPathError when it is not there)."""
    node = document
    for part in split_key(key):
        if isinstance(node, MutableMapping) or isinstance(node, dict):
            if part not in node:
                raise KeyPathError(f"{key!r}: no key {part!r}")
            node = node[part]
        elif isinstance(node, list | MutableSequence):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise KeyPathError(f"{key!r}: no item {part!r}") from None
        else:
            raise KeyPathError(f"{key!r}: {part!r} is under a scalar")
    return node
