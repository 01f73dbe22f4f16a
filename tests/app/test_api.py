"""The HTTP API against a real server process."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import httpx

from tests.app.conftest import Peer, Server, create_room, join


def test_operations_endpoints_answer(server: Server) -> None:
    assert httpx.get(server.base + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.base + "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert httpx.get(server.base + "/version").json() == {"version": "0.1.0", "commit": "unknown"}


def test_metrics_label_requests_by_route_template(server: Server) -> None:
    room = create_room(server)
    httpx.get(f"{server.base}/api/rooms/{room['id']}")
    text = httpx.get(server.base + "/metrics").text
    assert 'http_request_duration_seconds_bucket{le="0.005",method="GET",' in text
    assert 'route="/api/rooms/{room_id}"' in text
    assert room["id"] not in text
    for name in (
        "planning_poker_websocket_connections",
        "planning_poker_messages_in_total",
        "planning_poker_messages_out_total",
        "planning_poker_active_rooms",
        "process_cpu_seconds_total",
    ):
        assert name in text


def test_creating_a_room_gives_an_unguessable_link_and_a_facilitator(server: Server) -> None:
    room = create_room(server, deck="t-shirt")
    assert room["url"] == f"/r/{room['id']}" and len(room["id"]) >= 16
    state = httpx.get(f"{server.base}/api/rooms/{room['id']}").json()
    assert state["deck"] == ["XS", "S", "M", "L", "XL", "XXL", "?"]
    assert state["participants"][0]["role"] == "facilitator"
    assert room["token"] not in str(state)


def test_a_custom_deck_is_validated(server: Server) -> None:
    bad = httpx.post(
        server.base + "/api/rooms",
        json={"name": "R", "deck": "custom", "cards": ["1", "1"], "facilitatorName": "F"},
    )
    assert bad.status_code == 422 and "distinct" in bad.json()["message"]
    good = create_room(server, deck="custom", cards=["S", "M", "L"])
    state = httpx.get(f"{server.base}/api/rooms/{good['id']}").json()
    assert state["deck"] == ["S", "M", "L"]


def test_a_bad_create_request_names_the_field(server: Server) -> None:
    response = httpx.post(server.base + "/api/rooms", json={"name": "R", "deck": "nope"})
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert {"deck", "facilitatorName"} <= fields


def test_joining_with_an_existing_token_resumes_instead_of_duplicating(server: Server) -> None:
    room = create_room(server)
    ann = join(server, room["id"], "Ann")
    again = httpx.post(
        f"{server.base}/api/rooms/{room['id']}/participants",
        json={"name": "Ann", "role": "voter", "token": ann["token"]},
    )
    assert again.status_code == 200 and again.json()["participantId"] == ann["participantId"]
    state = httpx.get(f"{server.base}/api/rooms/{room['id']}").json()
    assert [p["name"] for p in state["participants"]] == ["Fay", "Ann"]


def test_an_unknown_room_gets_a_friendly_404_page_and_api_error(server: Server) -> None:
    page = httpx.get(server.base + "/r/does-not-exist")
    assert page.status_code == 404 and "This room does not exist" in page.text
    assert httpx.get(server.base + "/api/rooms/nope").status_code == 404
    response = httpx.post(server.base + "/api/rooms/nope/participants", json={"name": "A"})
    assert response.status_code == 404


def test_pages_carry_security_headers(server: Server) -> None:
    room = create_room(server)
    page = httpx.get(server.base + room["url"])
    assert page.status_code == 200 and 'type="module"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_export_lists_each_story_with_its_result(
    server: Server, peers: Callable[[Server, str, str], Peer]
) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    fay.send({"type": "add_story", "title": "=Login", "link": "https://x.test/1"})
    fay.send({"type": "vote", "card": "5"})
    fay.send({"type": "reveal"})
    fay.send({"type": "set_estimate", "estimate": "5"})
    fay.state(lambda r: r["stories"] and r["stories"][0]["estimate"] == "5")
    response = httpx.get(f"{server.base}/api/rooms/{room['id']}/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "story", "final estimate", "votes", "average", "median", "agreement", "time", "round",
        "seconds",
    ]  # fmt: skip
    assert rows[1][:6] == ["'=Login", "5", "Fay: 5", "5.0", "5.0", "100.0"]
    assert rows[1][6].startswith("20") and rows[1][7] == "1"


def export_rows(server: Server, room_id: str) -> list[list[str]]:
    response = httpx.get(f"{server.base}/api/rooms/{room_id}/export.csv")
    return list(csv.reader(io.StringIO(response.text)))[1:]


def test_every_round_of_a_story_is_kept_and_an_empty_reveal_is_refused(
    server: Server, peers: Callable[[Server, str, str], Peer]
) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    vic = peers(server, room["id"], join(server, room["id"], "Vic")["token"])
    fay.send({"type": "add_story", "title": "Login"})
    fay.state(lambda r: r["currentStory"] is not None)
    fay.send({"type": "vote", "card": "3"})
    vic.send({"type": "vote", "card": "8"})
    fay.state(lambda r: r["allVoted"])
    fay.send({"type": "reveal"})
    fay.send({"type": "new_round"})
    fay.state(lambda r: not r["revealed"] and r["currentStory"]["rounds"])
    fay.send({"type": "reveal"})  # nobody has voted in this round
    refusal = fay.until(lambda m: m["type"] == "error")
    assert refusal["code"] == "not_allowed" and "nobody has voted" in refusal["message"]
    fay.send({"type": "vote", "card": "5"})
    vic.send({"type": "vote", "card": "5"})
    fay.state(lambda r: r["allVoted"])
    fay.send({"type": "reveal"})
    seen = fay.state(lambda r: r["revealed"])
    rounds = seen["currentStory"]["rounds"]
    assert [r["votes"] for r in rounds] == [
        [["Fay", "3"], ["Vic", "8"]],
        [["Fay", "5"], ["Vic", "5"]],
    ]
    assert [r["round"] for r in rounds] == [1, 2]
    assert all(isinstance(r["seconds"], int) for r in rounds)
    rows = export_rows(server, room["id"])
    assert [(r[0], r[2], r[3], r[7]) for r in rows] == [
        ("Login", "Fay: 3; Vic: 8", "5.5", "1"),
        ("Login", "Fay: 5; Vic: 5", "5.0", "2"),
    ]


def test_removing_a_voter_after_the_reveal_changes_neither_the_screen_nor_the_export(
    server: Server, peers: Callable[[Server, str, str], Peer]
) -> None:
    room = create_room(server)
    fay = peers(server, room["id"], room["token"])
    vic = join(server, room["id"], "Vic")
    vic_socket = peers(server, room["id"], vic["token"])
    fay.send({"type": "add_story", "title": "Search"})
    fay.send({"type": "vote", "card": "2"})
    vic_socket.send({"type": "vote", "card": "13"})
    fay.state(lambda r: r["allVoted"])
    fay.send({"type": "reveal"})
    before = fay.state(lambda r: r["revealed"])
    fay.send({"type": "remove_participant", "participantId": vic["participantId"]})
    after = fay.state(lambda r: len(r["participants"]) == 1)
    assert after["stats"] == before["stats"] and after["stats"]["average"] == 7.5
    assert after["lastRound"]["votes"] == [["Fay", "2"], ["Vic", "13"]]
    assert export_rows(server, room["id"])[0][2:4] == ["Fay: 2; Vic: 13", "7.5"]


def test_a_second_person_with_the_same_name_is_refused(server: Server) -> None:
    room = create_room(server)
    answer = httpx.post(
        f"{server.base}/api/rooms/{room['id']}/participants",
        json={"name": " fay ", "role": "voter"},
    )
    assert answer.status_code == 409 and "already called fay" in answer.text


def test_a_custom_deck_of_one_card_is_refused(server: Server) -> None:
    body = {"name": "S", "deck": "custom", "cards": ["5"], "facilitatorName": "Fay"}
    answer = httpx.post(server.base + "/api/rooms", json=body)
    assert answer.status_code == 422 and "2 to 20 cards" in answer.text
