"""Small `delta` messages: what changed in a room's public view since the last broadcast.

A delta names the version it applies to (`base`) and carries only the top-level fields and
participant entries that changed; when participants were added, removed or reordered the
receivers get the full `state` instead. Before the reveal a receiver's own entry carries its
own card, as in the full state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from planning_poker.frames import Text
from planning_poker.rooms import Room

PERSONAL_KEYS = frozenset({"you", "participants"})


def to_json(value: object) -> str:
    """Compact JSON text (orjson: several times faster than the standard encoder)."""
    return orjson.dumps(value).decode()


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """The delta body from one public view to the next, or None when only a full state will do."""
    old_people, new_people = before["participants"], after["participants"]
    if before.keys() != after.keys() or len(old_people) != len(new_people):
        return None
    if any(old["id"] != new["id"] for old, new in zip(old_people, new_people, strict=True)):
        return None
    fields = {
        key: value
        for key, value in after.items()
        if key not in PERSONAL_KEYS and key != "version" and before[key] != value
    }
    people = [new for old, new in zip(old_people, new_people, strict=True) if old != new]
    return {
        "type": "delta",
        "version": after["version"],
        "base": before["version"],
        "set": fields,
        "participants": people,
    }


def delta_messages(room: Room, body: dict[str, Any]) -> Callable[[str], Text | str]:
    """A renderer of each receiver's delta: one shared frame, re-encoded only for an own card."""
    shared = Text(to_json(body))
    changed = {entry["id"]: index for index, entry in enumerate(body["participants"])}
    revealed = room.revealed

    def render(participant_id: str) -> Text | str:
        index = changed.get(participant_id)
        own = room.participants.get(participant_id)
        if index is None or own is None or own.vote is None or revealed:
            return shared
        people = list(body["participants"])
        people[index] = {**people[index], "vote": own.vote}
        return to_json({**body, "participants": people})

    return render
