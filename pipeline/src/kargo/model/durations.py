"""Durations, one grammar everywhere: Go's `time.ParseDuration` (Kargo's and Argo's), plus days.

`1h30m`, `500ms`, `90s`, `2.5m`, `0` are Go durations; `d` (24h) and `w` (7d) are accepted too,
for token lifetimes and `--since 7d`. Stage soak times, warehouse intervals, step and analysis
timeouts, webhook retry schedules and the CLI's `--timeout` all parse with `parse_duration`, and
`format_duration` writes the same form back (`1h2m3s`).
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w)")
_UNIT_SECONDS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
    "d": 86400.0, "w": 604800.0,
}  # fmt: skip
EXAMPLES = "e.g. 90s, 5m, 1h30m or 500ms"


def duration_seconds(text: str) -> float:
    """Seconds in a duration string; ValueError naming the expected form when it is not one."""
    value = text.strip()
    if value == "0":
        return 0.0
    if value.startswith("-"):
        raise ValueError(f"a duration cannot be negative, got {text!r}")
    position, total = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not value or position != len(value):
        hint = " (a unit is required)" if value.replace(".", "", 1).isdigit() else ""
        raise ValueError(f"{text!r} is not a duration{hint}; expected {EXAMPLES}")
    return total


def parse_duration(text: str) -> timedelta:
    """A duration string as a timedelta."""
    return timedelta(seconds=duration_seconds(text))


def format_duration(seconds: float) -> str:
    """Whole seconds in the same grammar: `1h2m3s`, `4m10s`, `0s`; under a second shows as 1s."""
    total = max(1, int(seconds)) if seconds > 0 else 0
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")
