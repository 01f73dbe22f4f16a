"""What the store hands back: a resource document with its identity and version, and events."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class ChangeType(enum.StrEnum):
    """What happened to a resource, as watch streams name it."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True)
class Change:
    """A committed change to one resource, delivered to watchers after the commit."""

    type: ChangeType
    kind: str
    project: str
    name: str
    body: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    """One row of the append-only events table."""

    seq: int
    uid: str
    project: str
    reason: str
    type: str
    involved_kind: str
    involved_name: str
    message: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class AuditRecord:
    """One row of the append-only audit trail."""

    project: str
    actor: str
    action: str
    resource: str
    phase_before: str | None
    phase_after: str | None
    source: str
    time: datetime
    result: str
    address: str | None = None
    id: int = 0
    prev_hash: str | None = None
    hash: str | None = None


@dataclass
class EventFilter:
    """Which events to list: equality and inequality on the aggregated fields."""

    equal: dict[str, str] = field(default_factory=dict)
    not_equal: dict[str, str] = field(default_factory=dict)

    def matches(self, event: StoredEvent) -> bool:
        """Whether the event passes the filter."""
        values = {
            "involvedObject.kind": event.involved_kind,
            "involvedObject.name": event.involved_name,
            "reason": event.reason,
            "type": event.type,
        }
        return all(values.get(k) == v for k, v in self.equal.items()) and all(
            values.get(k) != v for k, v in self.not_equal.items()
        )


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes: read them as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
