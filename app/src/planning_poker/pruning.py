"""Forget participants who left long ago, so that a room's places come back.

A participant offline on every instance for longer than the limit (counted from when they
went away, or from when they joined if they never connected) is removed; the facilitator
stays (the role passes on by itself after its grace period).
"""

from __future__ import annotations

from planning_poker.participants import Role
from planning_poker.rooms import Room


def prune_departed(room: Room, now: float, departed_seconds: float) -> list[str]:
    """Remove participants away for longer than departed_seconds; the ids removed."""
    gone = [
        participant.id
        for participant in room.participants.values()
        if now - (participant.away_since or participant.joined_at) > departed_seconds
        and participant.role is not Role.FACILITATOR
        and not participant.online
    ]
    for participant_id in gone:
        del room.participants[participant_id]
    return gone
