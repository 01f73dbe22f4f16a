"""The HTTP API's answers as models: the OpenAPI document describes them (docs/app-protocol.md).

Documentation only: the routes build their answers themselves (`views.public_view` is shared
with the WebSocket), and the fuzz tests check every answer against these schemas.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from planning_poker.decks import DeckKind
from planning_poker.errors import ErrorCode
from planning_poker.participants import Role


class Answer(BaseModel):
    """An answer in camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Problem(Answer):
    """One invalid field of a request."""

    field: str
    message: str


class ErrorAnswer(Answer):
    """Every refusal under `/api/`: a code, a message, and the invalid fields of a 422."""

    code: ErrorCode
    message: str
    problems: list[Problem] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorAnswer, "description": "Refused: the code and message say why"},
    "5XX": {"model": ErrorAnswer, "description": "The database is unavailable"},
}
"""The error answers every `/api/` route declares."""


class CreatedRoom(Answer):
    """`POST /api/rooms`: the new room and its facilitator's token."""

    id: str
    url: str
    participant_id: str
    token: str


class Joined(Answer):
    """`POST /api/rooms/{id}/participants`: the participant and its token."""

    participant_id: str
    token: str


class ParticipantView(Answer):
    """A participant as anyone sees it: `vote` stays null before the reveal."""

    id: str
    name: str
    role: Role
    online: bool
    has_voted: bool
    vote: str | None


class Timer(Answer):
    """A running timer."""

    ends_at: int
    seconds_left: int


class Nudge(Answer):
    """The last nudge: when (ms) and whom."""

    at: int
    ids: list[str]


class RoomView(Answer):
    """`GET /api/rooms/{id}`: the room as seen by nobody in particular."""

    id: str
    name: str
    deck_kind: DeckKind
    deck: list[str]
    revealed: bool
    round: int
    version: int
    you: str | None
    facilitator_id: str | None
    participants: list[ParticipantView]
    current_story: dict[str, Any] | None
    stories: list[dict[str, Any]]
    stats: dict[str, Any] | None
    last_round: dict[str, Any] | None
    nudge: Nudge | None
    round_started_at: float | None
    settings: dict[str, bool]
    timer: Timer | None
    all_voted: bool


CSV = {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The results"}
"""The CSV export's answer."""
