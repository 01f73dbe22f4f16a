"""WebSocket messages from clients: what each type does to the room.

See docs/app-protocol.md and docs/app.md for the wire format.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from planning_poker.errors import ErrorCode, RoomError
from planning_poker.rooms import Room

MAX_MESSAGE_BYTES = 64 * 1024


class MessageType(StrEnum):
    """Client-to-server message types."""

    PING = "ping"
    SYNC = "sync"
    VOTE = "vote"
    UNVOTE = "unvote"
    REVEAL = "reveal"
    NEW_ROUND = "new_round"
    NEXT_STORY = "next_story"
    ADD_STORY = "add_story"
    REMOVE_STORY = "remove_story"
    REORDER_STORIES = "reorder_stories"
    IMPORT_STORIES = "import_stories"
    SELECT_STORY = "select_story"
    SET_ESTIMATE = "set_estimate"
    START_TIMER = "start_timer"
    STOP_TIMER = "stop_timer"
    UPDATE_SETTINGS = "update_settings"
    MAKE_FACILITATOR = "make_facilitator"
    REMOVE_PARTICIPANT = "remove_participant"
    RENAME = "rename"
    SET_ROLE = "set_role"
    LEAVE = "leave"
    NUDGE = "nudge"


Action = Callable[[Room], object]


BY_VALUE = {kind.value: kind for kind in MessageType}  # a dict: Enum lookup by value is slower


def parse_message(message: object) -> tuple[MessageType, dict[str, Any]]:
    """The type and body of a decoded JSON message, or a bad-message error."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise RoomError(ErrorCode.BAD_MESSAGE, "a message is a JSON object with a string type")
    kind = BY_VALUE.get(message["type"])
    if kind is None:
        raise RoomError(ErrorCode.BAD_MESSAGE, f"unknown message type {message['type'][:40]!r}")
    return kind, message


Change = Callable[[Room, str, dict[str, Any]], object]

# What each message does to the room, as (room, acting participant, message body).
CHANGES: dict[MessageType, Change] = {
    MessageType.VOTE: lambda room, actor, body: room.vote(actor, body.get("card")),
    MessageType.UNVOTE: lambda room, actor, body: room.unvote(actor),
    MessageType.REVEAL: lambda room, actor, body: room.reveal(actor),
    MessageType.NEW_ROUND: lambda room, actor, body: room.new_round(actor),
    MessageType.NEXT_STORY: lambda room, actor, body: room.next_story(actor),
    MessageType.ADD_STORY: lambda room, actor, body: room.add_story(
        actor, body.get("title"), body.get("link")
    ),
    MessageType.REMOVE_STORY: lambda room, actor, body: room.remove_story(
        actor, body.get("storyId")
    ),
    MessageType.REORDER_STORIES: lambda room, actor, body: room.reorder_stories(
        actor, body.get("order")
    ),
    MessageType.IMPORT_STORIES: lambda room, actor, body: room.import_stories(
        actor, body.get("csv")
    ),
    MessageType.SELECT_STORY: lambda room, actor, body: room.select_story(
        actor, body.get("storyId")
    ),
    MessageType.SET_ESTIMATE: lambda room, actor, body: room.set_estimate(
        actor, body.get("estimate"), body.get("storyId")
    ),
    MessageType.START_TIMER: lambda room, actor, body: room.start_timer(
        actor, body.get("seconds"), time.time()
    ),
    MessageType.STOP_TIMER: lambda room, actor, body: room.stop_timer(actor),
    MessageType.UPDATE_SETTINGS: lambda room, actor, body: room.update_settings(
        actor, body.get("settings")
    ),
    MessageType.MAKE_FACILITATOR: lambda room, actor, body: room.make_facilitator(
        actor, body.get("participantId")
    ),
    MessageType.REMOVE_PARTICIPANT: lambda room, actor, body: room.remove_participant(
        actor, body.get("participantId")
    ),
    MessageType.RENAME: lambda room, actor, body: room.rename(actor, body.get("name")),
    MessageType.SET_ROLE: lambda room, actor, body: room.set_own_role(actor, body.get("role")),
    MessageType.LEAVE: lambda room, actor, body: room.leave(actor),
    MessageType.NUDGE: lambda room, actor, body: room.nudge_waiting(actor, time.time()),
}


def action_for(kind: MessageType, body: dict[str, Any], actor: str) -> Action:
    """The change a message asks for, done as the acting participant."""
    change = CHANGES.get(kind)
    if change is None:
        raise RoomError(ErrorCode.BAD_MESSAGE, f"{kind.value} changes nothing")
    return lambda room: change(room, actor, body)


class RateLimiter:
    """A token bucket: `rate` messages a second on average, bursts up to `burst`."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float = 20.0, burst: float = 40.0) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def allow(self) -> bool:
        """Whether one more message may pass now."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True
