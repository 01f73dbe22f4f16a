"""Room affinity during a canary: one room, one version; new rooms spread by weight."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import httpx
import pytest
from kargo.runtime.canarying import start_canary
from kargo.runtime.haproxy_config import GLOBAL, affinity_lines
from kargo.runtime.state import RuntimePaths
from websockets.sync.client import connect

from tests.pipeline.runtime.support import deploy, poker_spec

# The stage's deploy config says where the room id is; the runtime knows nothing of rooms.
ROOM_AFFINITY = {
    "paths": [
        {"prefix": "/r/", "field": 3},
        {"prefix": "/api/rooms/", "field": 4},
        {"prefix": "/ws/rooms/", "field": 4},
    ],
    "responseHeader": "X-Room-Id",
    "expire": "1h",
}


def room_spec(freight: str, port: int) -> object:
    """Planning Poker with a database per version, so a room lives on exactly one version."""
    spec = poker_spec("prod", freight, port)
    env = {**spec.env, "DATABASE_URL": "sqlite:///${STAGE_DIR}/${COMMIT}.db"}
    return dataclasses.replace(spec, env=env, affinity=ROOM_AFFINITY)


def test_affinity_config_sticks_on_the_path_keys_and_stores_the_response_header() -> None:
    text = affinity_lines(ROOM_AFFINITY)
    assert "stick-table type string len 64 size 200k expire 1h" in text
    assert "acl affinity_0 path_beg /r/" in text
    assert "stick on path,field(4,/) if affinity_1" in text
    assert "stick store-response res.hdr(X-Room-Id)" in text
    assert affinity_lines(None) == ""


def test_the_router_passes_each_client_address_on_to_the_instances() -> None:
    # Planning Poker's per-client limits read X-Forwarded-For from a trusted proxy.
    assert "option forwardfor" in GLOBAL


@pytest.mark.haproxy
def test_at_weight_10_about_a_tenth_of_new_rooms_land_on_the_canary_and_rooms_never_split(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, room_spec("freight-a", stage_port))  # type: ignore[arg-type]
    (canary,) = asyncio.run(start_canary(state_dir, room_spec("freight-b", stage_port), 10))  # type: ignore[arg-type]
    assert "stick store-response" in RuntimePaths(state_dir).haproxy_config.read_text()
    base = f"http://127.0.0.1:{stage_port}"
    rooms: list[str] = []
    tokens: dict[str, str] = {}
    fresh = httpx.Limits(max_keepalive_connections=0)  # every request on a new connection
    with httpx.Client(base_url=base, timeout=10, limits=fresh) as client:
        for number in range(200):
            created = client.post(
                "/api/rooms", json={"name": f"room {number}", "facilitatorName": "Ann"}
            )
            assert created.status_code == 201, created.text
            assert created.headers["X-Room-Id"] == created.json()["id"]
            rooms.append(created.json()["id"])
            tokens[created.json()["id"]] = created.json()["token"]
        # Each version has its own database: a request routed to the other version gets 404.
        for room in rooms:
            for path in (f"/api/rooms/{room}", f"/r/{room}", f"/api/rooms/{room}"):
                answer = client.get(path)
                assert answer.status_code == 200, (path, answer.status_code)
    with httpx.Client(timeout=10) as direct:
        on_canary = sum(
            direct.get(f"http://127.0.0.1:{canary.port}/api/rooms/{room}").status_code == 200
            for room in rooms
        )
    assert 10 <= on_canary <= 30, on_canary  # between 5% and 15% of 200
    # WebSockets follow their room too: the facilitator's socket gets the room's state.
    for room in rooms[:40]:
        url = f"ws://127.0.0.1:{stage_port}/ws/rooms/{room}?token={tokens[room]}"
        with connect(url, open_timeout=10) as socket:
            first = json.loads(socket.recv(timeout=10))
            assert first["type"] == "state" and first["room"]["id"] == room, first
