"""The room state machine and what each participant may see."""

from __future__ import annotations

import json

import pytest
from planning_poker.decks import DeckKind, cards_for
from planning_poker.errors import ErrorCode, RoomError
from planning_poker.participants import Participant, Role, clean_name
from planning_poker.rooms import Room
from planning_poker.views import (
    personal_view,
    public_view,
    room_from_doc,
    room_to_doc,
    state_messages,
)

NOW = 1_700_000_000.0


def make_room(deck: DeckKind = DeckKind.FIBONACCI) -> tuple[Room, Participant, Participant]:
    room = Room("room1", "Sprint", deck, cards_for(deck), NOW)
    fay = room.add_participant("Fay", Role.FACILITATOR, "h-fay", NOW)
    vic = room.add_participant("Vic", Role.VOTER, "h-vic", NOW + 1)
    fay.connect("i1")
    vic.connect("i1")
    return room, fay, vic


def refused(code: ErrorCode) -> pytest.RaisesExc[RoomError]:
    return pytest.raises(RoomError, check=lambda e: e.code is code)


def test_a_vote_is_hidden_from_everyone_but_the_voter_before_the_reveal() -> None:
    room, fay, vic = make_room()
    room.vote(vic.id, "8")
    public = public_view(room, NOW)
    assert all(p["vote"] is None for p in public["participants"])
    assert next(p for p in public["participants"] if p["id"] == vic.id)["hasVoted"] is True
    seen_by_fay = personal_view(public, room, fay.id)
    assert [p["vote"] for p in seen_by_fay["participants"]] == [None, None]
    seen_by_vic = personal_view(public, room, vic.id)
    assert next(p for p in seen_by_vic["participants"] if p["id"] == vic.id)["vote"] == "8"
    assert public["stats"] is None


def test_the_reveal_shows_every_card_and_the_statistics() -> None:
    room, fay, vic = make_room()
    room.vote(fay.id, "5")
    room.vote(vic.id, "8")
    room.reveal(fay.id)
    view = public_view(room, NOW)
    assert {p["name"]: p["vote"] for p in view["participants"]} == {"Fay": "5", "Vic": "8"}
    assert view["stats"]["average"] == 6.5


def test_a_vote_can_change_until_the_reveal_and_not_after() -> None:
    room, fay, vic = make_room()
    room.vote(vic.id, "3")
    room.vote(vic.id, "13")
    assert vic.vote == "13"
    room.reveal(fay.id)
    with refused(ErrorCode.NOT_ALLOWED):
        room.vote(vic.id, "1")


def test_a_card_outside_the_deck_is_refused() -> None:
    room, _, vic = make_room(DeckKind.T_SHIRT)
    with refused(ErrorCode.UNKNOWN_CARD):
        room.vote(vic.id, "5")


def test_a_spectator_never_votes_and_does_not_hold_up_all_voted() -> None:
    room, fay, vic = make_room()
    spec = room.add_participant("Sam", Role.SPECTATOR, "h-sam", NOW)
    spec.connect("i1")
    with refused(ErrorCode.NOT_ALLOWED):
        room.vote(spec.id, "5")
    room.vote(fay.id, "5")
    room.vote(vic.id, "5")
    assert room.everyone_voted()


def test_only_the_facilitator_reveals_unless_the_room_lets_anyone() -> None:
    room, fay, vic = make_room()
    room.vote(fay.id, "3")
    with refused(ErrorCode.NOT_ALLOWED):
        room.reveal(vic.id)
    room.update_settings(fay.id, {"anyoneCanReveal": True})
    room.reveal(vic.id)
    assert room.revealed


def test_auto_reveal_turns_the_cards_when_the_last_present_voter_votes() -> None:
    room, fay, vic = make_room()
    away = room.add_participant("Away", Role.VOTER, "h-away", NOW)
    room.update_settings(fay.id, {"autoReveal": True})
    room.vote(fay.id, "1")
    assert not room.revealed
    room.vote(vic.id, "2")
    assert room.revealed, "an away voter who has not voted must not block auto-reveal"
    assert away.vote is None


def test_new_round_clears_votes_and_next_story_moves_on() -> None:
    room, fay, vic = make_room()
    first = room.add_story(fay.id, "Login", "https://example.test/1")
    second = room.add_story(fay.id, "Logout")
    assert room.current_story_id == first.id
    room.vote(vic.id, "5")
    room.reveal(fay.id)
    room.new_round(fay.id)
    assert not room.revealed and vic.vote is None and room.round == 2
    room.next_story(fay.id)
    assert room.current_story_id == second.id and room.round == 3
    room.next_story(fay.id)
    assert room.current_story() is None


def test_the_reveal_records_the_result_on_the_current_story() -> None:
    room, fay, vic = make_room()
    story = room.add_story(fay.id, "Login")
    room.vote(fay.id, "3")
    room.vote(vic.id, "5")
    room.reveal(fay.id)
    room.set_estimate(fay.id, "5")
    assert story.estimate == "5"
    assert story.result is not None
    assert story.result["votes"] == [["Fay", "3"], ["Vic", "5"]]
    assert story.result["average"] == 4.0


def test_voters_cannot_run_facilitator_actions() -> None:
    room, _, vic = make_room()
    for action in (
        lambda: room.new_round(vic.id),
        lambda: room.next_story(vic.id),
        lambda: room.add_story(vic.id, "x"),
        lambda: room.start_timer(vic.id, 10, NOW),
        lambda: room.update_settings(vic.id, {"autoReveal": True}),
        lambda: room.remove_participant(vic.id, vic.id),
    ):
        with refused(ErrorCode.NOT_ALLOWED):
            action()


def test_the_timer_reveals_at_zero() -> None:
    room, fay, vic = make_room()
    room.vote(vic.id, "5")
    room.start_timer(fay.id, 30, NOW)
    assert not room.reveal_if_timer_done(NOW + 29)
    assert room.reveal_if_timer_done(NOW + 30)
    assert room.revealed and room.timer_ends_at is None


def test_stories_reorder_and_import_from_csv() -> None:
    room, fay, _ = make_room()
    imported = room.import_stories(fay.id, 'title,link\nLogin,https://x.test/1\n"Pay, later",\n')
    assert imported == 2
    a, b = room.stories
    assert (a.title, a.link, b.title, b.link) == ("Login", "https://x.test/1", "Pay, later", None)
    room.reorder_stories(fay.id, [b.id, a.id])
    assert [s.title for s in room.stories] == ["Pay, later", "Login"]
    with refused(ErrorCode.INVALID):
        room.reorder_stories(fay.id, [a.id])


def test_a_story_link_must_be_http_so_it_cannot_run_script() -> None:
    room, fay, _ = make_room()
    with refused(ErrorCode.INVALID):
        room.add_story(fay.id, "x", "javascript:alert(1)")


def test_handing_over_the_facilitator_role_makes_the_old_one_a_voter() -> None:
    room, fay, vic = make_room()
    room.make_facilitator(fay.id, vic.id)
    assert vic.role is Role.FACILITATOR and fay.role is Role.VOTER


def test_a_removed_participant_is_gone_with_their_token() -> None:
    room, fay, vic = make_room()
    room.remove_participant(fay.id, vic.id)
    assert room.by_token_hash("h-vic") is None


def test_the_role_passes_to_the_longest_present_after_the_grace_period() -> None:
    room, fay, vic = make_room()
    late = room.add_participant("Late", Role.VOTER, "h-late", NOW + 50)
    late.connect("i1")
    fay.disconnect("i1", NOW + 100)
    assert not room.pass_facilitator_if_gone(NOW + 100 + 60, grace_seconds=120)
    assert room.pass_facilitator_if_gone(NOW + 100 + 121, grace_seconds=120)
    assert vic.role is Role.FACILITATOR and fay.role is Role.VOTER


def test_presence_counts_connections_and_marks_away() -> None:
    _, _, vic = make_room()
    vic.connect("i2")
    vic.disconnect("i1", NOW)
    assert vic.online
    vic.disconnect("i2", NOW + 5)
    assert not vic.online and vic.away_since == NOW + 5


def test_a_room_survives_a_round_trip_through_its_document() -> None:
    room, fay, vic = make_room()
    room.add_story(fay.id, "Login")
    room.vote(vic.id, "5")
    again = room_from_doc(room_to_doc(room), room.version)
    assert public_view(again, NOW) == public_view(room, NOW)
    assert again.by_token_hash("h-vic") is not None


@pytest.mark.parametrize(
    ("raw", "name"),
    [("  Ann  ", "Ann"), ("x" * 50, "x" * 40), ("A\x00\nB", "AB"), ("<b>hi</b>", "<b>hi</b>")],
)
def test_names_are_trimmed_cleaned_and_limited_to_forty_characters(raw: str, name: str) -> None:
    assert clean_name(raw) == name


def test_an_empty_name_is_refused() -> None:
    with refused(ErrorCode.INVALID):
        clean_name("   ")


def test_the_broadcast_renderer_gives_each_participant_their_personal_view() -> None:
    room, fay, vic = make_room()
    room.name = 'Tricky "you-0" name'
    room.vote(vic.id, "8")
    render = state_messages(room)
    public = public_view(room)
    for participant in (fay, vic):
        message = json.loads(render(participant.id))
        assert message["type"] == "state"
        expected = personal_view(public, room, participant.id)
        assert {**message["room"], "timer": None} == {**expected, "timer": None}


def test_a_leaving_facilitator_hands_the_role_to_the_longest_present() -> None:
    room, fay, vic = make_room()
    room.leave(fay.id)
    assert list(room.participants) == [vic.id] and vic.role is Role.FACILITATOR


def test_a_rename_to_a_name_in_use_is_refused_but_a_change_of_case_of_ones_own_is_not() -> None:
    room, fay, vic = make_room()
    with refused(ErrorCode.CONFLICT):
        room.rename(vic.id, "FAY")
    room.rename(fay.id, "FAY")
    assert fay.name == "FAY"


def test_a_timer_running_out_on_an_empty_table_keeps_no_round() -> None:
    room, fay, _ = make_room()
    room.add_story(fay.id, "Login")
    room.start_timer(fay.id, 5, NOW)
    assert room.reveal_if_timer_done(NOW + 6)
    assert room.revealed and room.stories[0].rounds == [] and room.last_round is None


def test_a_nudge_names_the_present_voters_without_a_card_and_waits_ten_seconds() -> None:
    room, fay, vic = make_room()
    ann = room.add_participant("Ann", Role.VOTER, "h-ann", NOW + 2)
    ann.connect("i1")
    room.vote(ann.id, "5")
    with refused(ErrorCode.NOT_ALLOWED):
        room.nudge_waiting(vic.id, NOW)
    assert room.nudge_waiting(fay.id, NOW) == [vic.id]
    assert public_view(room, NOW)["nudge"] == {"at": round(NOW * 1000), "ids": [vic.id]}
    with refused(ErrorCode.RATE_LIMITED):
        room.nudge_waiting(fay.id, NOW + 5)
    room.vote(vic.id, "8")
    with refused(ErrorCode.CONFLICT):
        room.nudge_waiting(fay.id, NOW + 11)
    room.new_round(fay.id)
    assert room.nudge is None


def test_a_stored_connection_count_of_zero_is_not_presence() -> None:
    # `online` reads "any count at all": counts of zero from a stored document are dropped.
    stored = {
        "id": "p1",
        "name": "Ann",
        "role": "voter",
        "tokenHash": "h",
        "joinedAt": 0.0,
        "connections": {"gone": 0, "here": 2},
    }
    ann = Participant.from_doc(stored)
    assert ann.connections == {"here": 2} and ann.online
    assert not Participant.from_doc({**stored, "connections": {"gone": 0}}).online
