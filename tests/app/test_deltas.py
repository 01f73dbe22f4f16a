"""Delta messages over the room WebSocket, against a real server process."""

from __future__ import annotations

import json
from typing import Any

from planning_poker.deltas import changes, snapshot
from websockets.sync.client import ClientConnection, connect

from tests.app.conftest import Server, create_room, join, member


def open_socket(server: Server, room_id: str, token: str, deltas: bool = True) -> ClientConnection:
    """A participant's socket asking for deltas (or not)."""
    query = f"?token={token}" + ("&deltas=1" if deltas else "")
    return connect(f"{server.ws_base}/ws/rooms/{room_id}{query}", open_timeout=10)


def read(socket: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of a type (others skipped)."""
    while True:
        message: dict[str, Any] = json.loads(socket.recv(timeout=timeout))
        if message["type"] == kind:
            return message


def apply(room: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """What the browser's roomstate.js does with a delta."""
    assert delta["base"] == room["version"]
    changed = {entry["id"]: entry for entry in delta["participants"]}
    people = [changed.get(entry["id"], entry) for entry in room["participants"]]
    return {**room, **delta["set"], "version": delta["version"], "participants": people}


def test_a_vote_goes_out_as_a_small_delta_that_hides_the_card_from_others(
    server: Server,
) -> None:
    room = create_room(server)
    ann = join(server, room["id"], "Ann")
    with (
        open_socket(server, room["id"], room["token"]) as fay,
        open_socket(server, room["id"], ann["token"]) as ann_ws,
        open_socket(server, room["id"], ann["token"], deltas=False) as ann_plain,
    ):
        fay_room = read(fay, "state")["room"]
        fay_room = apply(fay_room, read(fay, "delta"))  # Ann came online
        fay_room = apply(fay_room, read(fay, "delta"))  # Ann's second socket: nothing visible
        ann_room = read(ann_ws, "state")["room"]
        ann_room = apply(ann_room, read(ann_ws, "delta"))
        read(ann_plain, "state")
        ann_ws.send(json.dumps({"type": "vote", "card": "8"}))
        seen = read(fay, "delta")
        assert [entry["name"] for entry in seen["participants"]] == ["Ann"]
        assert seen["participants"][0]["hasVoted"] is True
        assert seen["participants"][0]["vote"] is None, "a card value leaked in a delta"
        assert len(json.dumps(seen)) < 400
        own = read(ann_ws, "delta")
        assert own["participants"][0]["vote"] == "8"
        plain = read(ann_plain, "state")["room"]  # a client that did not ask gets full states
        assert member(plain, "Ann")["vote"] == "8"
        fay_room = apply(fay_room, seen)
        assert fay_room["version"] == plain["version"]
        assert {**fay_room, "you": None} == {
            **plain,
            "you": None,
            "participants": [{**p, "vote": None} for p in plain["participants"]],
        }


def test_a_late_joiner_gets_the_full_state_and_sync_resends_it(server: Server) -> None:
    room = create_room(server)
    with open_socket(server, room["id"], room["token"]) as fay:
        first = read(fay, "state")["room"]
        fay.send(json.dumps({"type": "vote", "card": "3"}))
        assert read(fay, "delta")["base"] == first["version"]
        bob = join(server, room["id"], "Bob")  # participants changed: everybody gets a state
        grown = read(fay, "state")["room"]
        assert member(grown, "Bob")
        with open_socket(server, room["id"], bob["token"]) as bob_ws:
            late = read(bob_ws, "state")["room"]
            assert late["you"] == bob["participantId"] and member(late, "Fay")["hasVoted"]
            assert member(late, "Fay")["vote"] is None
            bob_ws.send(json.dumps({"type": "sync"}))
            again = read(bob_ws, "state")["room"]
            assert again["version"] == late["version"]


def view(version: int, participants: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A public view with only the fields given (as `views.public_view` shapes one)."""
    return {"id": "r1", "version": version, "you": None, "participants": participants, **fields}


def test_a_field_that_becomes_the_json_of_its_old_text_has_changed() -> None:
    before = view(1, [], title='["8"]', deck=["1", "2"])
    after = view(2, [], title=["8"], deck=["1", "2"])
    body = changes(snapshot(before), after, snapshot(after))
    assert body is not None
    assert body["set"] == {"title": ["8"]}
    assert body["base"] == 1 and body["version"] == 2


def test_only_the_entries_that_changed_go_out_and_a_new_order_needs_a_full_state() -> None:
    ann = {"id": "a", "name": "Ann", "hasVoted": False}
    bob = {"id": "b", "name": "Bob", "hasVoted": False}
    before = view(1, [ann, bob], deck=["1", "2"])
    after = view(2, [ann, {**bob, "hasVoted": True}], deck=["1", "2"])
    body = changes(snapshot(before), after, snapshot(after))
    assert body is not None and body["set"] == {}
    assert body["participants"] == [{**bob, "hasVoted": True}]
    swapped = view(3, [bob, ann], deck=["1", "2"])
    assert changes(snapshot(before), swapped, snapshot(swapped)) is None
    alone = view(4, [ann], deck=["1", "2"])
    assert changes(snapshot(before), alone, snapshot(alone)) is None


def test_a_room_with_nobody_in_it_still_gets_deltas() -> None:
    before, after = view(1, [], name="Sprint"), view(2, [], name="Sprint 2")
    assert changes(snapshot(before), after, snapshot(after)) == {
        "type": "delta",
        "version": 2,
        "base": 1,
        "set": {"name": "Sprint 2"},
        "participants": [],
    }
