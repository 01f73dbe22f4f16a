"""How a room is stored and how each participant sees it.

Before the reveal a view carries no card values except the receiving participant's own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson

from planning_poker.decks import DeckKind
from planning_poker.participants import Participant
from planning_poker.rooms import Room, RoomSettings
from planning_poker.rounds import stats_of
from planning_poker.stats import compute_stats
from planning_poker.stories import Story


def _encode(value: object) -> str:
    return orjson.dumps(value).decode()


_NONCE = secrets.token_hex(16)
_YOU_MARK, _PEOPLE_MARK = f'"you-{_NONCE}"', f'"people-{_NONCE}"'


def room_to_doc(room: Room) -> dict[str, Any]:
    """The stored JSON document of a room (the version lives in its own column)."""
    return {
        "id": room.id,
        "name": room.name,
        "deckKind": room.deck_kind,  # a str enum, encoded as its value
        "cards": room.cards,
        "createdAt": room.created_at,
        "settings": room.settings.to_json(),
        "participants": [p.to_doc() for p in room.participants.values()],
        "stories": [s.to_json() for s in room.stories],
        "currentStoryId": room.current_story_id,
        "revealed": room.revealed,
        "round": room.round,
        "timerEndsAt": room.timer_ends_at,
        "roundStartedAt": room.round_started_at,
        "lastRound": room.last_round,
        "nudge": room.nudge,
    }


def room_from_doc(doc: dict[str, Any], version: int) -> Room:
    """Rebuild a room from its stored document."""
    participants = [Participant.from_doc(p) for p in doc.get("participants", [])]
    return Room(
        id=doc["id"],
        name=doc["name"],
        deck_kind=DeckKind(doc["deckKind"]),
        cards=list(doc["cards"]),
        created_at=doc["createdAt"],
        settings=RoomSettings.from_json(doc.get("settings")),
        participants={p.id: p for p in participants},
        stories=[Story.from_doc(s) for s in doc.get("stories", [])],
        current_story_id=doc.get("currentStoryId"),
        revealed=bool(doc.get("revealed")),
        round=int(doc.get("round", 1)),
        timer_ends_at=doc.get("timerEndsAt"),
        round_started_at=doc.get("roundStartedAt"),
        last_round=doc.get("lastRound") or _legacy_round(doc),
        nudge=doc.get("nudge"),
        version=version,
    )


def _legacy_round(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The revealed round of a room stored before rounds were kept: its story's result."""
    if not doc.get("revealed"):
        return None
    story = next((s for s in doc.get("stories", []) if s["id"] == doc.get("currentStoryId")), None)
    return story.get("result") if story else None


def public_view(room: Room, now: float | None = None) -> dict[str, Any]:
    """The room as seen by nobody in particular: no card values before the reveal."""
    now = time.time() if now is None else now
    revealed = room.revealed
    story = room.current_story()
    facilitator = room.facilitator()
    timer = None
    if room.timer_ends_at is not None:
        timer = {
            "endsAt": round(room.timer_ends_at * 1000),
            "secondsLeft": max(0, round(room.timer_ends_at - now)),
        }
    return {
        "id": room.id,
        "name": room.name,
        "deckKind": room.deck_kind._value_,  # plain text (snapshots hold no enum objects)
        "deck": list(room.cards),
        "revealed": room.revealed,
        "round": room.round,
        "version": room.version,
        "you": None,
        "facilitatorId": facilitator.id if facilitator else None,
        "participants": [
            {
                "id": p.id,
                "name": p.name,
                "role": p.role._value_,  # plain text, without 3.11's slow .value property
                "online": p.online,
                "hasVoted": p.vote is not None,
                "vote": p.vote if revealed else None,
            }
            for p in room.participants.values()
        ],
        "currentStory": story.to_json() if story else None,
        "stories": [s.to_json() for s in room.stories],
        "stats": _revealed_stats(room),
        "lastRound": room.last_round if room.revealed else None,
        "nudge": {"at": round(room.nudge["at"] * 1000), "ids": room.nudge["ids"]}
        if room.nudge
        else None,
        "roundStartedAt": room.round_started_at,
        "settings": room.settings.to_json(),
        "timer": timer,
        "allVoted": room.everyone_voted(),
    }


def _revealed_stats(room: Room) -> dict[str, Any] | None:
    """The revealed round's statistics as recorded at the reveal (one truth with the export)."""
    if not room.revealed:
        return None
    if room.last_round is None:
        return compute_stats([], room.cards).to_json()
    return stats_of(room.last_round)


def personal_view(public: dict[str, Any], room: Room, participant_id: str) -> dict[str, Any]:
    """A public view with the receiver's own id and own card filled in."""
    view = dict(public)
    view["you"] = participant_id
    own = room.participants.get(participant_id)
    if own is not None and own.vote is not None and not room.revealed:
        view["participants"] = [
            {**entry, "vote": own.vote} if entry["id"] == participant_id else entry
            for entry in public["participants"]
        ]
    return view


def state_messages(room: Room, public: dict[str, Any] | None = None) -> Callable[[str], str]:
    """A renderer of each participant's `state` message, serialising the shared part once.

    Broadcasts send one message per connection; only `you` and the receiver's own vote differ,
    so the JSON is cut around two placeholders and reassembled per receiver. The placeholders
    hold a per-process secret that never leaves the process, so no content can contain them.
    """
    public = public_view(room) if public is None else public
    shell = {**public, "you": _YOU_MARK[1:-1], "participants": _PEOPLE_MARK[1:-1]}
    text = _encode({"type": "state", "room": shell})
    before_you, after_you = text.split(_YOU_MARK)
    middle, tail = after_you.split(_PEOPLE_MARK)
    entries = public["participants"]
    encoded = [_encode(entry) for entry in entries]
    shared = "[" + ",".join(encoded) + "]"
    position = {entry["id"]: index for index, entry in enumerate(entries)}
    revealed = room.revealed

    def render(participant_id: str) -> str:
        people = shared
        own = room.participants.get(participant_id)
        if own is not None and own.vote is not None and not revealed:
            parts = list(encoded)
            index = position[participant_id]
            parts[index] = _encode({**entries[index], "vote": own.vote})
            people = "[" + ",".join(parts) + "]"
        return "".join((before_you, _encode(participant_id), middle, people, tail))

    return render
