"""The small part of Kubernetes JSONPath that web metrics use: `{$.a.b[0].c}`."""

from __future__ import annotations

import re
from typing import Any

from kargo.analysis.errors import MeasurementError

_TOKEN = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]")


def select(document: Any, path: str) -> Any:
    """The part of a JSON document a path such as `{$.data.ok}` or `$.items[0]` names."""
    expression = path.strip()
    if expression.startswith("{") and expression.endswith("}"):
        expression = expression[1:-1].strip()
    if not expression.startswith("$"):
        raise MeasurementError(f"jsonPath {path!r}: expected a path starting with $")
    position = 1
    value = document
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise MeasurementError(f"jsonPath {path!r}: cannot read {expression[position:]!r}")
        key, index, quoted = match.groups()
        try:
            value = value[int(index)] if index is not None else value[key or quoted]
        except (KeyError, IndexError, TypeError):
            raise MeasurementError(
                f"jsonPath {path!r}: {expression[: match.end()]} is not in the answer"
            ) from None
        position = match.end()
    return value
