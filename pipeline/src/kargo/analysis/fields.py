"""Small checks shared by both template forms: allowed keys and int-or-string values."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from kargo.analysis.errors import AnalysisTemplateError

Refuse = Callable[[str, str], AnalysisTemplateError]


def check_keys(
    mapping: Mapping[str, Any],
    path: str,
    allowed: Collection[str],
    refuse: Refuse,
    *,
    refused: Collection[str] = (),
) -> None:
    """Raise for the first key that is not allowed, naming it."""
    for key in mapping:
        if key in allowed:
            continue
        if key in refused:
            raise refuse(f"{path}.{key}", f"{key!r} is not supported here")
        raise refuse(
            f"{path}.{key}",
            f"unsupported field {key!r}; expected one of {', '.join(sorted(allowed))}",
        )


def int_or_string(value: Any, path: str, refuse: Refuse) -> int:
    """An integer given as a number or a string of digits (Kubernetes int-or-string)."""
    if isinstance(value, bool):
        raise refuse(path, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise refuse(
        path, f"expected an integer, got {value!r} (argument references are not supported)"
    )
