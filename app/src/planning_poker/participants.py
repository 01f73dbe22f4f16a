"""Participants of a room: roles, names, presence across instances."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from planning_poker.errors import ErrorCode, RoomError

MAX_NAME_LENGTH = 40


class Role(StrEnum):
    """What a participant may do; the facilitator also votes."""

    VOTER = "voter"
    SPECTATOR = "spectator"
    FACILITATOR = "facilitator"

    def votes(self) -> bool:
        """Whether this role casts cards and counts toward "all voted"."""
        return self is not Role.SPECTATOR


def clean_name(raw: object, what: str = "name", limit: int = MAX_NAME_LENGTH) -> str:
    """A display name: text, control characters dropped, trimmed, at most 40 characters."""
    if not isinstance(raw, str):
        raise RoomError(ErrorCode.INVALID, f"{what} must be a string")
    printable = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C")
    name = printable.strip()[:limit].strip()
    if not name:
        raise RoomError(ErrorCode.INVALID, f"{what} must not be empty")
    return name


@dataclass
class Participant:
    """One person in a room, identified across reconnects by the hash of their token."""

    id: str
    name: str
    role: Role
    token_hash: str
    joined_at: float
    vote: str | None = None
    connections: dict[str, int] = field(default_factory=dict)  # instance: open sockets, > 0
    away_since: float | None = None

    @property
    def online(self) -> bool:
        """Whether at least one WebSocket of this participant is open on some instance."""
        return bool(self.connections)  # it holds positive counts only

    def connect(self, instance: str) -> None:
        """Count one more open connection on an instance."""
        self.connections[instance] = self.connections.get(instance, 0) + 1
        self.away_since = None

    def disconnect(self, instance: str, now: float) -> None:
        """Count one connection less; note when the participant went away."""
        left = self.connections.get(instance, 0) - 1
        if left > 0:
            self.connections[instance] = left
        else:
            self.connections.pop(instance, None)
        if not self.online:
            self.away_since = now

    def forget_instances(self, alive: set[str], now: float) -> None:
        """Drop connection counts of instances that are gone (crashed or restarted)."""
        was_online = self.online
        self.connections = {k: v for k, v in self.connections.items() if k in alive}
        if was_online and not self.online:
            self.away_since = now

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,  # a str enum, stored as its value
            "tokenHash": self.token_hash,
            "joinedAt": self.joined_at,
            "vote": self.vote,
            "connections": self.connections,
            "awaySince": self.away_since,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Participant:
        """Read the stored form."""
        return cls(
            id=doc["id"],
            name=doc["name"],
            role=Role(doc["role"]),
            token_hash=doc["tokenHash"],
            joined_at=doc["joinedAt"],
            vote=doc.get("vote"),
            connections={k: n for k, n in (doc.get("connections") or {}).items() if n > 0},
            away_since=doc.get("awaySince"),
        )
