"""Small value types shared by several kinds: origins, vars, conditions, durations."""

from __future__ import annotations

import enum
import re
from datetime import datetime, timedelta

from kargo.model.base import StrictModel

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str) -> timedelta:
    """Parse a Go-style duration ("5m", "1h30m", "10s", "250ms") into a timedelta."""
    text = text.strip()
    if text in ("", "0"):
        return timedelta(0)
    pos = 0
    total = 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        value = float(match.group(1))
        unit = match.group(2)
        total += value * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
        pos = match.end()
    if pos != len(text):
        raise ValueError(f"{text!r} is not a duration; expected e.g. 30s, 5m or 1h30m")
    return timedelta(seconds=total)


class OriginKind(enum.StrEnum):
    """What kind of resource freight comes from."""

    WAREHOUSE = "Warehouse"


class FreightOrigin(StrictModel):
    """Where freight comes from: a warehouse."""

    kind: OriginKind = OriginKind.WAREHOUSE
    name: str


class ExpressionVar(StrictModel):
    """A named value usable as `${{ vars.<name> }}` in step configuration."""

    name: str
    value: str = ""


class ConditionStatus(enum.StrEnum):
    """Status of a condition."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StrictModel):
    """A Kubernetes-style condition on a resource's status."""

    type: str
    status: ConditionStatus
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


class SecretRef(StrictModel):
    """A reference to a secret by name; the secret itself is never stored."""

    name: str
    key: str | None = None


def set_condition(conditions: list[Condition], new: Condition) -> list[Condition]:
    """Return conditions with `new` replacing any condition of the same type."""
    kept = [c for c in conditions if c.type != new.type]
    return [*kept, new]
