"""Find the fields a model allows at a path, to suggest the one a misspelt key meant."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel


def _unwrap(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _step(annotation: Any, part: str | int) -> list[Any]:
    found: list[Any] = []
    for candidate in _unwrap(annotation):
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if isinstance(part, int) and origin in (list, tuple) and args:
            found.extend(_unwrap(args[0]))
        elif isinstance(part, str) and origin is dict and len(args) == 2:
            found.extend(_unwrap(args[1]))
        elif isinstance(candidate, type) and issubclass(candidate, BaseModel):
            for name, info in candidate.model_fields.items():
                if part in (info.alias, name):
                    found.extend(_unwrap(info.annotation))
    return found


def allowed_fields(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """The serialised field names allowed in the object at `path` of a `model` document."""
    current: list[Any] = [model]
    for part in path:
        current = [t for c in current for t in _step(c, part)]
    names: list[str] = []
    for candidate in current:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            names.extend(info.alias or name for name, info in candidate.model_fields.items())
    return sorted(set(names))


def did_you_mean(word: str, choices: list[str]) -> str:
    """` (did you mean "x"?)` when a close match exists, else an empty string."""
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f' (did you mean "{lowered[match[0]]}"?)' if match else ""
