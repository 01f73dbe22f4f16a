"""The WebSocket protocol against a real server process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.app.conftest import Peer, Server, create_room, join, member

OpenPeer = Callable[[Server, str, str], Peer]


def test_a_card_value_never_reaches_another_client_before_the_reveal(
    server: Server, peers: OpenPeer
) -> None:
    room = create_room(server)
    ann, bob = join(server, room["id"], "Ann"), join(server, room["id"], "Bob")
    fay = peers(server, room["id"], room["token"])
    ann_ws = peers(server, room["id"], ann["token"])
    bob_ws = peers(server, room["id"], bob["token"])
    ann_ws.send({"type": "vote", "card": "21"})
    own = ann_ws.state(lambda r: member(r, "Ann").get("hasVoted"))
    assert member(own, "Ann")["vote"] == "21"
    for other in (fay, bob_ws):
        seen = other.state(lambda r: member(r, "Ann").get("hasVoted"))
        assert member(seen, "Ann")["vote"] is None
    public = httpx.get(f"{server.base}/api/rooms/{room['id']}").json()
    assert all(p["vote"] is None for p in public["participants"])
    fay.send({"type": "reveal"})
    revealed = bob_ws.state(lambda r: r["revealed"])
    before_reveal = [m for m in fay.received + bob_ws.received if not m["room"]["revealed"]]
    assert before_reveal
    for message in before_reveal:
        votes = [p["vote"] for p in message["room"]["participants"]]
        assert votes == [None] * len(votes), "a card value leaked before the reveal"
    assert member(revealed, "Ann")["vote"] == "21"
    assert revealed["stats"]["distribution"] == {"21": 1}


def test_three_voters_see_the_right_statistics(server: Server, peers: OpenPeer) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    sockets = [fay] + [
        peers(server, room["id"], join(server, room["id"], name)["token"]) for name in ("A", "B")
    ]
    for socket, card in zip(sockets, ["3", "5", "5"], strict=True):
        socket.send({"type": "vote", "card": card})
    fay.state(lambda r: r["allVoted"])
    fay.send({"type": "reveal"})
    stats = sockets[2].state(lambda r: r["revealed"])["stats"]
    assert stats == {
        "average": 4.33,
        "median": 5.0,
        "mode": ["5"],
        "consensus": False,
        "agreement": 66.7,
        "distribution": {"3": 1, "5": 2},
    }


def test_a_late_joiner_gets_the_full_current_state(server: Server, peers: OpenPeer) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    fay.send({"type": "add_story", "title": "Login"})
    fay.send({"type": "vote", "card": "8"})
    fay.send({"type": "reveal"})
    fay.state(lambda r: r["revealed"])
    late = peers(server, room["id"], join(server, room["id"], "Late")["token"])
    first = late.next()
    assert first["type"] == "state"
    assert first["room"]["revealed"] and first["room"]["currentStory"]["title"] == "Login"
    assert member(first["room"], "Fay")["vote"] == "8"


def test_a_reconnect_resumes_the_same_participant_with_role_and_vote(
    server: Server, peers: OpenPeer
) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    fay.send({"type": "vote", "card": "13"})
    fay.state(lambda r: member(r, "Fay")["hasVoted"])
    fay.close()
    again = peers(server, room["id"], room["token"])
    state = again.state(lambda r: True)
    assert len(state["participants"]) == 1
    me = member(state, "Fay")
    assert (me["id"], me["role"], me["vote"]) == (room["participantId"], "facilitator", "13")


def test_a_disconnected_participant_shows_as_away(server: Server, peers: OpenPeer) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    ann = peers(server, room["id"], join(server, room["id"], "Ann")["token"])
    fay.state(lambda r: member(r, "Ann").get("online"))
    ann.close()
    state = fay.state(lambda r: member(r, "Ann").get("online") is False)
    assert [p["name"] for p in state["participants"]] == ["Fay", "Ann"]


def test_a_malformed_message_gets_an_error_and_the_connection_stays(
    server: Server, peers: OpenPeer
) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    fay.next()
    for bad, code in [
        ("not json", "bad_message"),
        ('{"type": "explode"}', "bad_message"),
        ("[1, 2]", "bad_message"),
        ('{"type": "vote", "card": "4"}', "unknown_card"),
        ("x" * 70_000, "too_large"),
    ]:
        fay.send(bad)
        answer = fay.until(lambda m: m["type"] == "error")
        assert answer["code"] == code
    fay.send({"type": "ping"})
    assert fay.until(lambda m: m["type"] != "state") == {"type": "pong"}


def test_a_flood_of_messages_is_rate_limited_without_closing(
    server: Server, peers: OpenPeer
) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    for _ in range(80):
        fay.send({"type": "ping"})
    errors = []
    for _ in range(80):
        message = fay.until(lambda m: m["type"] in ("pong", "error"))
        errors += [message] if message["type"] == "error" else []
    assert errors and errors[0]["code"] == "rate_limited"
    fay.socket.send(json.dumps({"type": "ping"}))


def test_a_spectator_is_refused_a_vote(server: Server, peers: OpenPeer) -> None:
    room = create_room(server)
    spectator = peers(server, room["id"], join(server, room["id"], "Sam", "spectator")["token"])
    spectator.send({"type": "vote", "card": "5"})
    assert spectator.until(lambda m: m["type"] == "error")["code"] == "not_allowed"


def test_a_removed_participant_is_disconnected_and_cannot_come_back(
    server: Server, peers: OpenPeer
) -> None:
    room = create_room(server)
    ann = join(server, room["id"], "Ann")
    fay = peers(server, room["id"], room["token"])
    ann_ws = peers(server, room["id"], ann["token"])
    fay.send({"type": "remove_participant", "participantId": ann["participantId"]})
    assert ann_ws.until(lambda m: m["type"] == "removed")
    with pytest.raises(ConnectionClosed) as closed:
        ann_ws.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with connect(f"{server.ws_base}/ws/rooms/{room['id']}?token={ann['token']}") as again:
        assert json.loads(again.recv(timeout=5))["code"] == "not_allowed"


def test_a_bad_token_or_unknown_room_closes_with_a_code(server: Server) -> None:
    room = create_room(server)
    for path, code in [(f"{room['id']}?token=wrong", 4401), ("nope?token=x", 4404)]:
        with connect(f"{server.ws_base}/ws/rooms/{path}") as socket:
            socket.recv(timeout=5)
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def test_the_server_timer_reveals_the_cards(server: Server, peers: OpenPeer) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    fay.send({"type": "vote", "card": "2"})
    fay.send({"type": "start_timer", "seconds": 1})
    assert fay.state(lambda r: r["timer"] is not None)["timer"]["secondsLeft"] == 1
    revealed = fay.state(lambda r: r["revealed"], timeout=5)
    assert revealed["timer"] is None


def test_the_facilitator_hands_over_the_role_and_stories_are_managed(
    server: Server, peers: OpenPeer
) -> None:
    room = create_room(server)
    ann = join(server, room["id"], "Ann")
    fay = peers(server, room["id"], room["token"])
    fay.send({"type": "import_stories", "csv": "title,link\nOne,\nTwo,https://x.test/2\n"})
    state = fay.state(lambda r: len(r["stories"]) == 2)
    one, two = (s["id"] for s in state["stories"])
    fay.send({"type": "reorder_stories", "order": [two, one]})
    fay.send({"type": "select_story", "storyId": two})
    fay.send({"type": "next_story"})
    fay.send({"type": "make_facilitator", "participantId": ann["participantId"]})
    state = fay.state(lambda r: r["facilitatorId"] == ann["participantId"])
    assert [s["title"] for s in state["stories"]] == ["Two", "One"]
    assert state["currentStory"]["title"] == "One"
    assert member(state, "Fay")["role"] == "voter"
    fay.send({"type": "new_round"})
    assert fay.until(lambda m: m["type"] == "error")["code"] == "not_allowed"


def test_a_long_gone_facilitator_hands_the_role_to_the_longest_present(
    server: Server, peers: OpenPeer
) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    ann = peers(server, room["id"], join(server, room["id"], "Ann")["token"])
    bob = peers(server, room["id"], join(server, room["id"], "Bob")["token"])
    ann.state(lambda r: member(r, "Bob").get("online") is True)
    fay.close()
    away = bob.state(lambda r: member(r, "Fay").get("online") is False)
    assert member(away, "Fay")["role"] == "facilitator", "the role waits for the grace period"
    state = bob.state(lambda r: member(r, "Ann").get("role") == "facilitator", timeout=8)
    assert member(state, "Fay")["role"] == "voter"
    assert member(state, "Bob")["role"] == "voter"


def test_messages_sent_at_once_and_a_close_right_after_are_all_handled_in_order(
    server: Server, peers: OpenPeer
) -> None:
    # Sent before the server has even resumed the participant, and closed at once: the server
    # hands each message over as it is parsed (queued ones first), and the leave waits for them.
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    for title in ("First", "Second", "Third"):
        fay.send({"type": "add_story", "title": title})
    fay.send({"type": "vote", "card": "5"})
    fay.close()
    deadline = time.monotonic() + 5
    while True:
        public = httpx.get(f"{server.base}/api/rooms/{room['id']}").json()
        done = not member(public, "Fay")["online"]
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [story["title"] for story in public["stories"]] == ["First", "Second", "Third"]
    assert member(public, "Fay")["hasVoted"] is True
    assert not member(public, "Fay")["online"]
