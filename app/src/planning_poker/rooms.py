"""The room state machine: who is in, the cards cast, reveal, rounds, stories, roles.

Every method takes the acting participant's id and checks what they may do; a refused
action raises RoomError and leaves the room unchanged. Views never carry another
participant's card before the reveal.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from planning_poker.decks import DeckKind
from planning_poker.errors import ErrorCode, RoomError
from planning_poker.participants import Participant, Role, clean_name
from planning_poker.rounds import round_record
from planning_poker.stories import (
    MAX_STORIES,
    Story,
    clean_estimate,
    clean_link,
    clean_title,
    parse_stories_csv,
)

MAX_PARTICIPANTS = 100
MAX_TIMER_SECONDS = 3600
NUDGE_INTERVAL_SECONDS = 10


def new_id(nbytes: int = 12) -> str:
    """An unguessable URL-safe identifier."""
    return secrets.token_urlsafe(nbytes)


@dataclass
class RoomSettings:
    """Options the facilitator can change."""

    anyone_can_reveal: bool = False
    auto_reveal: bool = False

    def to_json(self) -> dict[str, bool]:
        """The wire and stored form."""
        return {"anyoneCanReveal": self.anyone_can_reveal, "autoReveal": self.auto_reveal}

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> RoomSettings:
        """Read the wire form, refusing anything but booleans."""
        settings = cls()
        settings.update(doc or {})
        return settings

    def update(self, doc: dict[str, Any]) -> None:
        """Apply the known boolean fields of a partial settings object."""
        fields = {"anyoneCanReveal": "anyone_can_reveal", "autoReveal": "auto_reveal"}
        unknown = set(doc) - set(fields)
        if unknown:
            raise RoomError(ErrorCode.INVALID, f"unknown setting(s): {', '.join(sorted(unknown))}")
        if any(not isinstance(value, bool) for value in doc.values()):
            raise RoomError(ErrorCode.INVALID, "settings must be true or false")
        for key, value in doc.items():
            setattr(self, fields[key], value)


@dataclass
class Room:
    """One estimation room and everything in it."""

    id: str
    name: str
    deck_kind: DeckKind
    cards: list[str]
    created_at: float
    settings: RoomSettings = field(default_factory=RoomSettings)
    participants: dict[str, Participant] = field(default_factory=dict)
    stories: list[Story] = field(default_factory=list)
    current_story_id: str | None = None
    revealed: bool = False
    round: int = 1
    timer_ends_at: float | None = None
    round_started_at: float | None = None
    last_round: dict[str, Any] | None = None
    nudge: dict[str, Any] | None = None  # {"at": seconds, "ids": [participants asked to vote]}
    version: int = 0

    # -- membership -------------------------------------------------------------------------

    def add_participant(self, name: str, role: Role, token_hash: str, now: float) -> Participant:
        """A new participant; the room's first one is its facilitator."""
        if len(self.participants) >= MAX_PARTICIPANTS:
            raise RoomError(ErrorCode.CONFLICT, f"a room holds at most {MAX_PARTICIPANTS} people")
        if role is Role.FACILITATOR and self.facilitator() is not None:
            raise RoomError(ErrorCode.NOT_ALLOWED, "the room already has a facilitator")
        participant = Participant(new_id(8), self._free_name(name), role, token_hash, now)
        participant.away_since = now
        self.participants[participant.id] = participant
        return participant

    def by_token_hash(self, token_hash: str) -> Participant | None:
        """The participant holding a token, if any."""
        for participant in self.participants.values():
            if secrets.compare_digest(participant.token_hash, token_hash):
                return participant
        return None

    def facilitator(self) -> Participant | None:
        """The current facilitator."""
        return next((p for p in self.participants.values() if p.role is Role.FACILITATOR), None)

    def member(self, participant_id: str) -> Participant:
        """A participant by id, or a not-found error."""
        participant = self.participants.get(participant_id)
        if participant is None:
            raise RoomError(ErrorCode.NOT_FOUND, "no such participant in this room")
        return participant

    def _require_facilitator(self, actor: str) -> None:
        if self.member(actor).role is not Role.FACILITATOR:
            raise RoomError(ErrorCode.NOT_ALLOWED, "only the facilitator can do that")

    def _free_name(self, raw: object, keeping: str | None = None) -> str:
        """A clean name nobody else in the room uses (compared without case)."""
        name = clean_name(raw)
        taken = {p.name.casefold() for p in self.participants.values() if p.id != keeping}
        if name.casefold() in taken:
            raise RoomError(ErrorCode.CONFLICT, f"someone in this room is already called {name}")
        return name

    def rename(self, actor: str, name: object) -> None:
        """A participant changes their display name (to one nobody else uses)."""
        self.member(actor).name = self._free_name(name, keeping=actor)

    def set_own_role(self, actor: str, role: object) -> None:
        """A participant switches themselves between voter and spectator."""
        participant = self.member(actor)
        if role not in (Role.VOTER.value, Role.SPECTATOR.value):
            raise RoomError(ErrorCode.INVALID, "role must be voter or spectator")
        if participant.role is Role.FACILITATOR:
            raise RoomError(ErrorCode.NOT_ALLOWED, "hand the facilitator role over first")
        participant.role = Role(role)
        if participant.role is Role.SPECTATOR:
            participant.vote = None

    def make_facilitator(self, actor: str, target: object) -> None:
        """The facilitator hands the role to someone else and becomes a voter."""
        self._require_facilitator(actor)
        new = self.member(str(target))
        if new.id == actor:
            return
        self.member(actor).role = Role.VOTER
        new.role = Role.FACILITATOR

    def remove_participant(self, actor: str, target: object) -> Participant:
        """The facilitator removes someone; their token stops working."""
        self._require_facilitator(actor)
        if target == actor:
            raise RoomError(ErrorCode.NOT_ALLOWED, "the facilitator cannot remove themselves")
        removed = self.member(str(target))
        del self.participants[removed.id]
        return removed

    def leave(self, actor: str) -> None:
        """A participant leaves for good; a leaving facilitator hands the role on first."""
        leaving = self.member(actor)
        del self.participants[leaving.id]
        if leaving.role is Role.FACILITATOR and self.participants:
            heir = min(self.participants.values(), key=lambda p: (not p.online, p.joined_at))
            heir.role = Role.FACILITATOR

    def pass_facilitator_if_gone(self, now: float, grace_seconds: float) -> bool:
        """Give the role to whoever has been present longest if the facilitator is long gone."""
        current = self.facilitator()
        if current is not None and (
            current.online
            or current.away_since is None
            or now - current.away_since <= grace_seconds
        ):
            return False
        present = [p for p in self.participants.values() if p.online and p is not current]
        if not present:
            return False
        heir = min(present, key=lambda p: p.joined_at)
        if current is not None:
            current.role = Role.VOTER
        heir.role = Role.FACILITATOR
        return True

    # -- voting -----------------------------------------------------------------------------

    def vote(self, actor: str, card: object) -> None:
        """Cast or change a card until the reveal."""
        participant = self.member(actor)
        if not participant.role.votes():
            raise RoomError(ErrorCode.NOT_ALLOWED, "spectators do not vote")
        if self.revealed:
            raise RoomError(ErrorCode.NOT_ALLOWED, "the cards are revealed; start a new round")
        if not isinstance(card, str) or card not in self.cards:
            raise RoomError(ErrorCode.UNKNOWN_CARD, "that card is not in this room's deck")
        participant.vote = card
        if self.round_started_at is None:
            self.round_started_at = self._clock()
        if self.settings.auto_reveal and self.everyone_voted():
            self._reveal()

    def unvote(self, actor: str) -> None:
        """Take a card back before the reveal."""
        participant = self.member(actor)
        if self.revealed:
            raise RoomError(ErrorCode.NOT_ALLOWED, "the cards are revealed; start a new round")
        participant.vote = None

    def nudge_waiting(self, actor: str, now: float) -> list[str]:
        """The facilitator reminds the present voters without a card; at most every 10 s."""
        self._require_facilitator(actor)
        if self.revealed:
            raise RoomError(ErrorCode.NOT_ALLOWED, "the cards are revealed; start a new round")
        if self.nudge is not None and now - self.nudge["at"] < NUDGE_INTERVAL_SECONDS:
            raise RoomError(ErrorCode.RATE_LIMITED, "a nudge went out a moment ago; wait a little")
        waiting = [
            p.id
            for p in self.participants.values()
            if p.role.votes() and p.online and p.vote is None and p.id != actor
        ]
        if not waiting:
            raise RoomError(ErrorCode.CONFLICT, "everyone present has voted")
        self.nudge = {"at": now, "ids": waiting}
        return waiting

    def everyone_voted(self) -> bool:
        """Whether every present voter (and anyone away who voted) has a card down."""
        counted = False
        for participant in self.participants.values():
            if participant.role is Role.SPECTATOR:
                continue
            if participant.vote is not None:
                counted = True
            elif participant.online:
                return False
        return counted

    def reveal(self, actor: str) -> None:
        """Turn the cards over: the facilitator, or anyone when the room allows it."""
        participant = self.member(actor)
        allowed = participant.role is Role.FACILITATOR or (
            self.settings.anyone_can_reveal and participant.role.votes()
        )
        if not allowed:
            raise RoomError(ErrorCode.NOT_ALLOWED, "only the facilitator can reveal the cards")
        if not self.revealed and not self.cast_votes():
            raise RoomError(
                ErrorCode.NOT_ALLOWED, "nobody has voted yet; there is nothing to reveal"
            )
        self._reveal()

    def _reveal(self, now: float | None = None) -> None:
        """Turn the cards over and keep the round; a round without cards is not kept."""
        if self.revealed:
            return
        self.revealed = True
        self.timer_ends_at = None
        votes = [(p.name, p.vote) for p in self.participants.values() if p.vote is not None]
        if not votes:
            self.last_round = None
            return
        story = self.current_story()
        number = len(story.rounds) + 1 if story is not None else self.round
        when = now if now is not None else self._clock()
        self.last_round = round_record(number, votes, self.cards, self.round_started_at, when)
        if story is not None:
            story.record(self.last_round)

    def cast_votes(self) -> list[str]:
        """The cards on the table."""
        return [p.vote for p in self.participants.values() if p.vote is not None]

    def new_round(self, actor: str) -> None:
        """Clear the cards and vote again on the same story."""
        self._require_facilitator(actor)
        self._clear_round()

    def next_story(self, actor: str) -> None:
        """Move on to the next story (or to none when the list is done) with a fresh round."""
        self._require_facilitator(actor)
        ids = [s.id for s in self.stories]
        if self.current_story_id in ids:
            position = ids.index(self.current_story_id) + 1
            self.current_story_id = ids[position] if position < len(ids) else None
        else:
            self.current_story_id = ids[0] if ids else None
        self._clear_round()

    def _clear_round(self) -> None:
        for participant in self.participants.values():
            participant.vote = None
        self.revealed = False
        self.timer_ends_at = None
        self.last_round = None
        self.nudge = None
        self.round_started_at = self._clock()
        self.round += 1

    # -- timer ------------------------------------------------------------------------------

    def start_timer(self, actor: str, seconds: object, now: float) -> None:
        """Start a countdown that reveals the cards at zero."""
        self._require_facilitator(actor)
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise RoomError(ErrorCode.INVALID, "seconds must be a whole number")
        if not 1 <= seconds <= MAX_TIMER_SECONDS:
            raise RoomError(ErrorCode.INVALID, f"seconds must be 1 to {MAX_TIMER_SECONDS}")
        if self.revealed:
            raise RoomError(ErrorCode.NOT_ALLOWED, "the cards are already revealed")
        self.timer_ends_at = now + seconds

    def stop_timer(self, actor: str) -> None:
        """Cancel the countdown."""
        self._require_facilitator(actor)
        self.timer_ends_at = None

    def reveal_if_timer_done(self, now: float) -> bool:
        """Reveal when the countdown has reached zero."""
        if self.timer_ends_at is None or now < self.timer_ends_at:
            return False
        self._reveal(now)
        return True

    # -- stories ----------------------------------------------------------------------------

    def current_story(self) -> Story | None:
        """The story being estimated."""
        return next((s for s in self.stories if s.id == self.current_story_id), None)

    def add_story(self, actor: str, title: object, link: object = None) -> Story:
        """Append a story; the first one becomes current."""
        self._require_facilitator(actor)
        return self._append_story(clean_title(title), clean_link(link))

    def _append_story(self, title: str, link: str | None) -> Story:
        if len(self.stories) >= MAX_STORIES:
            raise RoomError(ErrorCode.CONFLICT, f"a room holds at most {MAX_STORIES} stories")
        story = Story(new_id(6), title, link)
        self.stories.append(story)
        if self.current_story_id is None and len(self.stories) == 1:
            self.current_story_id = story.id
            if not self.revealed and not self.cast_votes():
                self.round_started_at = self._clock()
        return story

    def import_stories(self, actor: str, text: object) -> int:
        """Append the stories of a `title,link` CSV; all or nothing."""
        self._require_facilitator(actor)
        if not isinstance(text, str):
            raise RoomError(ErrorCode.INVALID, "csv must be a string")
        rows = parse_stories_csv(text)
        if len(self.stories) + len(rows) > MAX_STORIES:
            raise RoomError(ErrorCode.CONFLICT, f"a room holds at most {MAX_STORIES} stories")
        for title, link in rows:
            self._append_story(title, link)
        return len(rows)

    def remove_story(self, actor: str, story_id: object) -> None:
        """Delete a story."""
        self._require_facilitator(actor)
        story = self._story(story_id)
        self.stories.remove(story)
        if self.current_story_id == story.id:
            self.current_story_id = None

    def reorder_stories(self, actor: str, order: object) -> None:
        """Put the stories in the given order of ids (all of them, each once)."""
        self._require_facilitator(actor)
        by_id = {s.id: s for s in self.stories}
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(by_id):
            raise RoomError(ErrorCode.INVALID, "order must list every story id exactly once")
        self.stories = [by_id[str(i)] for i in order]

    def select_story(self, actor: str, story_id: object) -> None:
        """Estimate a chosen story now, with a fresh round."""
        self._require_facilitator(actor)
        self.current_story_id = self._story(story_id).id
        self._clear_round()

    def set_estimate(self, actor: str, estimate: object, story_id: object = None) -> None:
        """Record the final estimate of a story (the current one by default)."""
        self._require_facilitator(actor)
        story = self._story(story_id) if story_id is not None else self.current_story()
        if story is None:
            raise RoomError(ErrorCode.NOT_FOUND, "there is no current story to estimate")
        story.estimate = clean_estimate(estimate)

    def _story(self, story_id: object) -> Story:
        story = next((s for s in self.stories if s.id == story_id), None)
        if story is None:
            raise RoomError(ErrorCode.NOT_FOUND, "no such story in this room")
        return story

    # -- settings ---------------------------------------------------------------------------

    def update_settings(self, actor: str, changes: object) -> None:
        """Change room options (a partial settings object)."""
        self._require_facilitator(actor)
        if not isinstance(changes, dict):
            raise RoomError(ErrorCode.INVALID, "settings must be an object")
        self.settings.update(changes)
        if self.settings.auto_reveal and not self.revealed and self.everyone_voted():
            self._reveal()

    @staticmethod
    def _clock() -> float:
        return time.time()
