"""Small `delta` messages: what changed in a room's public view since the last broadcast.

A delta names the version it applies to (`base`) and carries only the top-level fields and
participant entries that changed; when participants were added, removed or reordered the
receivers get the full `state` instead. Before the reveal a receiver's own entry carries its
own card, as in the full state.
"""

from __future__ import annotations

from typing import Any

import orjson

from planning_poker.frames import Text
from planning_poker.rooms import Room

PERSONAL_KEYS = frozenset({"you", "participants"})


def to_json(value: object) -> str:
    """Compact JSON text (orjson: several times faster than the standard encoder)."""
    return orjson.dumps(value).decode()


# A public view as the next delta compares it: version, participant count, then each shared
# field's name and encoding, then each participant's id and encoding. One flat tuple of
# atomic values is one object for the garbage collector where the view is dozens.
Snapshot = tuple[Any, ...]


def snapshot(public: dict[str, Any]) -> Snapshot:
    """What a later `changes` needs of this public view, as one flat tuple."""
    people = public["participants"]
    parts: list[Any] = [public["version"], len(people)]
    for key, value in public.items():
        if key not in PERSONAL_KEYS and key != "version":
            parts += (key, orjson.dumps(value).decode())  # exact size: orjson over-allocates
    for person in people:
        parts += (person["id"], orjson.dumps(person).decode())
    return tuple(parts)


def changes(before: Snapshot, after: dict[str, Any], now: Snapshot) -> dict[str, Any] | None:
    """The delta body from one public view (`before`, snapshot) to the next (`after`, whose
    snapshot is `now`), or None when only a full state will do."""
    if len(before) != len(now) or before[1] != now[1]:
        return None
    people = now[1]
    first_person = len(now) - 2 * people
    fields: dict[str, Any] = {}
    for index in range(2, first_person, 2):
        key = now[index]
        if before[index] != key:
            return None
        if before[index + 1] != now[index + 1]:
            fields[key] = after[key]
    changed = []
    new_people = after["participants"]
    for number, index in enumerate(range(first_person, len(now), 2)):
        if before[index] != now[index]:
            return None
        if before[index + 1] != now[index + 1]:
            changed.append(new_people[number])
    return {
        "type": "delta",
        "version": after["version"],
        "base": before[0],
        "set": fields,
        "participants": changed,
    }


class DeltaMessages:
    """Each receiver's delta: one shared frame, re-encoded only for a receiver's own card."""

    __slots__ = ("shared", "_body", "_changed", "_room")

    def __init__(self, room: Room, body: dict[str, Any]) -> None:
        self.shared = Text(to_json(body))
        self._body = body
        self._changed = {entry["id"]: index for index, entry in enumerate(body["participants"])}
        self._room = room

    def personal(self, participant_id: str) -> bool:
        """Whether the receiver's delta differs from the shared one (it carries an own card)."""
        if participant_id not in self._changed or self._room.revealed:
            return False
        own = self._room.participants.get(participant_id)
        return own is not None and own.vote is not None

    def own(self, participant_id: str) -> str:
        """The delta of a receiver `personal` names: the shared one with its own card."""
        index = self._changed[participant_id]
        own = self._room.participants[participant_id]
        people = list(self._body["participants"])
        people[index] = {**people[index], "vote": own.vote}
        return to_json({**self._body, "participants": people})
