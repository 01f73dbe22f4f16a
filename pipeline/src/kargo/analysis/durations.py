"""Argo Rollouts duration strings (`500ms`, `30s`, `5m`, `1h30m`) as seconds."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in an Argo duration string; raise ValueError when it is not one."""
    text = text.strip()
    if not text:
        raise ValueError("expected a duration such as 30s, 5m or 1h30m, got an empty string")
    position = 0
    total = 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ValueError(f"expected a duration such as 30s, 5m or 1h30m, got {text!r}")
    return total
