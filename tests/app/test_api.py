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
    assert rows[0] == ["story", "final estimate", "votes", "average", "median", "agreement", "time"]
    assert rows[1][:6] == ["'=Login", "5", "Fay: 5", "5.0", "5.0", "100.0"]
    assert rows[1][6].startswith("20")
