"""Small value types shared by several kinds: origins, vars, conditions."""

from __future__ import annotations

import enum
from datetime import datetime

from kargo.model.base import StrictModel


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
