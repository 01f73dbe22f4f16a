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


# A public view as the next delta compares it: version, participant count, the width of a
# participant's entry, then each shared field's name and value (a number, string, boolean or
# null as it is, anything else as its JSON bytes, which never equal a string), then the values
# of each participant's entry, id first. One flat tuple of atomic values is one object for the
# garbage collector where the view is dozens. Values compare as Python compares them: a field
# turning from 1 into true would go unsent, and no field of a view changes its type.
Snapshot = tuple[Any, ...]
_ATOMIC = (str, int, float)  # bool is an int, a str enum a str
_HEAD = 3


def snapshot(public: dict[str, Any]) -> Snapshot:
    """What a later `changes` needs of this public view, as one flat tuple."""
    people = public["participants"]
    parts: list[Any] = [public["version"], len(people), len(people[0]) if people else 0]
    for key, value in public.items():
        if key not in PERSONAL_KEYS and key != "version":
            atomic = value is None or isinstance(value, _ATOMIC)
            parts += (key, value if atomic else _json_bytes(value))
    for person in people:
        parts += person.values()  # every entry has the same keys, id first
    return tuple(parts)


def _json_bytes(value: object) -> bytes:
    """A value's JSON as bytes of their own size (orjson's hold 4 KiB however short)."""
    return orjson.dumps(value).decode().encode()


def changes(before: Snapshot, after: dict[str, Any], now: Snapshot) -> dict[str, Any] | None:
    """The delta body from one public view (`before`, snapshot) to the next (`after`, whose
    snapshot is `now`), or None when only a full state will do."""
    if len(before) != len(now) or before[1:_HEAD] != now[1:_HEAD]:
        return None
    people, width = now[1], now[2]
    first_person = len(now) - width * people
    fields: dict[str, Any] = {}
    for index in range(_HEAD, first_person, 2):
        key = now[index]
        if before[index] != key:
            return None
        if before[index + 1] != now[index + 1]:
            fields[key] = after[key]
    changed = []
    new_people = after["participants"]
    for number, index in enumerate(range(first_person, len(now), width or 1)):
        if before[index] != now[index]:
            return None
        if before[index : index + width] != now[index : index + width]:
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

    __slots__ = ("shared", "personal", "_body", "_changed", "_room")

    def __init__(self, room: Room, body: dict[str, Any]) -> None:
        self.shared = Text(to_json(body))
        self._body = body
        self._changed = {entry["id"]: index for index, entry in enumerate(body["participants"])}
        self._room = room
        # Receivers whose delta differs from the shared one: a changed entry with an own card.
        self.personal: frozenset[str] = frozenset(
            () if room.revealed else (pid for pid in self._changed if _has_card(room, pid))
        )

    def own(self, participant_id: str) -> str:
        """The delta of a receiver in `personal`: the shared one with its own card."""
        index = self._changed[participant_id]
        own = self._room.participants[participant_id]
        people = list(self._body["participants"])
        people[index] = {**people[index], "vote": own.vote}
        return to_json({**self._body, "participants": people})


def _has_card(room: Room, participant_id: str) -> bool:
    """Whether the participant is in the room with a card down."""
    own = room.participants.get(participant_id)
    return own is not None and own.vote is not None
