"""The planning poker room on random sequences of actions: its invariants always hold.

A hypothesis state machine joins people (the first as facilitator), connects and disconnects
them, and has random members vote, take cards back, reveal, start rounds and stories, hand the
facilitator role over, switch to spectator, remove people, run the timer and change settings,
refused actions included. After every step: no card value is visible to anyone but its owner
before the reveal (in the public view, each personal view and each rendered `state` message),
the room has exactly one facilitator, spectators hold no card and never count, and the delta
from the view after the step before (when a delta will do) turns that view into this one.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from planning_poker.decks import DeckKind, cards_for
from planning_poker.deltas import Snapshot, changes, snapshot
from planning_poker.errors import RoomError
from planning_poker.participants import Role
from planning_poker.rooms import Room
from planning_poker.views import personal_view, public_view, state_messages

from tests.fuzz.conftest import examples

CARDS = cards_for(DeckKind.FIBONACCI)
anything = st.one_of(st.sampled_from(CARDS), st.none(), st.integers(), st.text(max_size=5))


class RoomMachine(RuleBasedStateMachine):
    """Random actions on one room."""

    def __init__(self) -> None:
        super().__init__()
        self.room = Room("r1", "Sprint", DeckKind.FIBONACCI, list(CARDS), created_at=0.0)
        self.now = 1.0
        self.tokens = 0
        self.last: tuple[dict[str, Any], Snapshot] | None = None  # the view after the last step

    def _join(self, role: Role) -> None:
        self.tokens += 1
        try:
            self.room.add_participant(f"p{self.tokens}", role, f"hash{self.tokens}", self.now)
        except RoomError:
            pass

    def _anyone(self, data: st.DataObject) -> str:
        return data.draw(
            st.sampled_from(list(self.room.participants))
        )  # join order: ids are random

    def _try(self, action: object, *args: object) -> None:
        try:
            action(*args)  # type: ignore[operator]
        except RoomError:
            pass  # refused actions must leave the room valid too

    @initialize()
    def create(self) -> None:
        self._join(Role.FACILITATOR)

    @rule(role=st.sampled_from([Role.VOTER, Role.SPECTATOR, Role.FACILITATOR]))
    def join(self, role: Role) -> None:
        self._join(role)

    @rule(data=st.data(), online=st.booleans())
    def connect(self, data: st.DataObject, online: bool) -> None:
        person = self.room.participants[self._anyone(data)]
        if online:
            person.connect("instance-a")
        else:
            person.disconnect("instance-a", self.now)

    @rule(data=st.data(), card=anything)
    def vote(self, data: st.DataObject, card: object) -> None:
        self._try(self.room.vote, self._anyone(data), card)

    @rule(data=st.data())
    def unvote(self, data: st.DataObject) -> None:
        self._try(self.room.unvote, self._anyone(data))

    @rule(data=st.data())
    def reveal(self, data: st.DataObject) -> None:
        self._try(self.room.reveal, self._anyone(data))

    @rule(data=st.data(), next_story=st.booleans())
    def new_round(self, data: st.DataObject, next_story: bool) -> None:
        action = self.room.next_story if next_story else self.room.new_round
        self._try(action, self._anyone(data))

    @rule(data=st.data())
    def add_story(self, data: st.DataObject) -> None:
        self._try(self.room.add_story, self._anyone(data), data.draw(st.text(max_size=10)))

    @rule(data=st.data())
    def hand_over(self, data: st.DataObject) -> None:
        self._try(self.room.make_facilitator, self._anyone(data), self._anyone(data))

    @rule(data=st.data(), role=anything | st.sampled_from(["voter", "spectator", "facilitator"]))
    def switch_role(self, data: st.DataObject, role: object) -> None:
        self._try(self.room.set_own_role, self._anyone(data), role)

    @precondition(lambda self: len(self.room.participants) > 1)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        self._try(self.room.remove_participant, self._anyone(data), self._anyone(data))

    @rule(data=st.data(), seconds=st.integers(-5, 700) | anything)
    def timer(self, data: st.DataObject, seconds: object) -> None:
        self._try(self.room.start_timer, self._anyone(data), seconds, self.now)

    @rule(seconds=st.floats(0, 120))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self.room.reveal_if_timer_done(self.now)
        self.room.pass_facilitator_if_gone(self.now, grace_seconds=30.0)

    @rule(
        data=st.data(),
        changes=st.dictionaries(
            st.sampled_from(["autoReveal", "anyoneCanReveal", "x"]),
            anything | st.booleans(),
            max_size=2,
        ),
    )
    def change_settings(self, data: st.DataObject, changes: dict[str, object]) -> None:
        self._try(self.room.update_settings, self._anyone(data), changes)

    @invariant()
    def exactly_one_facilitator(self) -> None:
        facilitators = [p for p in self.room.participants.values() if p.role is Role.FACILITATOR]
        assert len(facilitators) == 1, [(p.id, p.role) for p in self.room.participants.values()]

    @invariant()
    def no_card_visible_before_the_reveal(self) -> None:
        room = self.room
        public = public_view(room, self.now)
        if room.revealed:
            return
        assert public["stats"] is None
        assert all(entry["vote"] is None for entry in public["participants"])
        render = state_messages(room)
        for viewer in room.participants.values():
            view = personal_view(public, room, viewer.id)
            rendered = json.loads(render(viewer.id))["room"]
            for entry in (*view["participants"], *rendered["participants"]):
                if entry["id"] != viewer.id:
                    assert entry["vote"] is None, (viewer.id, entry)
                else:
                    assert entry["vote"] == viewer.vote
            # state_messages reads the wall clock for the timer; the test's clock is its own.
            assert {**rendered, "timer": None} == {**view, "timer": None}

    @invariant()
    def a_delta_turns_the_last_view_into_this_one(self) -> None:
        public = public_view(self.room, self.now)
        now = snapshot(public)
        if self.last is not None:
            before, then = self.last
            body = changes(then, public, now)
            if body is not None:  # None: participants came, went or moved; a full state goes
                assert [p["id"] for p in before["participants"]] == [
                    p["id"] for p in public["participants"]
                ]
                changed = {entry["id"]: entry for entry in body["participants"]}
                people = [changed.get(entry["id"], entry) for entry in before["participants"]]
                applied = {**before, **body["set"], "participants": people}
                # JSON text, not ==: true and 1, or "[]" and [], must not pass for each other.
                assert json.dumps(applied) == json.dumps(public), body
        self.last = (public, now)

    @invariant()
    def spectators_never_count(self) -> None:
        room = self.room
        spectators = [p for p in room.participants.values() if p.role is Role.SPECTATOR]
        assert all(p.vote is None for p in spectators)
        voters = [p for p in room.participants.values() if p.role is not Role.SPECTATOR]
        counted = [p for p in voters if p.online or p.vote is not None]
        expected = bool(counted) and all(p.vote is not None for p in counted)
        assert room.everyone_voted() is expected
        assert len(room.cast_votes()) == sum(1 for p in voters if p.vote is not None)


RoomMachine.TestCase.settings = settings(max_examples=examples(60), stateful_step_count=40)
test_room_actions_keep_cards_hidden_one_facilitator_and_spectators_uncounted = RoomMachine.TestCase
