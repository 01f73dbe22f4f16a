"""Per-client limits, forwarded addresses, WebSocket origins and the CSP, on a real server."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from planning_poker.errors import ErrorCode, RoomError
from planning_poker.fanout import Fanout
from planning_poker.hub import Hub
from planning_poker.migrating import upgrade_to_head
from planning_poker.outbox import Outbox
from planning_poker.store import RoomStore, make_engine
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.app.conftest import Server, app_server, create_room, join, member


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with small limits that believes X-Forwarded-For from loopback (HAProxy there)."""
    env = {
        "PLANNING_POKER_TRUSTED_PROXIES": "127.0.0.1",
        "PLANNING_POKER_ROOMS_PER_CLIENT_PER_HOUR": "2",
        "PLANNING_POKER_JOINS_PER_CLIENT_PER_ROOM_PER_HOUR": "2",
        "PLANNING_POKER_SOCKETS_PER_CLIENT": "3",
    }
    with app_server(tmp_path_factory.mktemp("strict"), env=env) as running:
        yield running


@pytest.fixture(scope="module")
def untrusting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same limits, no trusted proxy (the default)."""
    env = {"PLANNING_POKER_ROOMS_PER_CLIENT_PER_HOUR": "2"}
    with app_server(tmp_path_factory.mktemp("untrusting"), env=env) as running:
        yield running


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server allowing one other origin that forgets who left a second ago (two tests' facets)."""
    env = {
        "PLANNING_POKER_ALLOWED_ORIGINS": "https://poker.example.com",
        "PLANNING_POKER_DEPARTED_AFTER_SECONDS": "1",
    }
    with app_server(tmp_path_factory.mktemp("configured"), env=env) as running:
        yield running


def new_room(server: Server, address: str) -> httpx.Response:
    """POST /api/rooms as if from an address (behind the proxy)."""
    body = {"name": "Sprint", "facilitatorName": "Fay"}
    return httpx.post(server.base + "/api/rooms", json=body, headers={"X-Forwarded-For": address})


def test_room_creation_is_limited_per_client_behind_a_trusted_proxy(strict: Server) -> None:
    assert [new_room(strict, "198.51.100.7").status_code for _ in range(3)] == [201, 201, 429]
    refused = new_room(strict, "198.51.100.7").json()
    assert refused["code"] == "rate_limited"
    # another client behind the same proxy is counted on its own; a proxy in the chain is skipped
    assert new_room(strict, "203.0.113.9, 127.0.0.1").status_code == 201


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(untrusting: Server) -> None:
    codes = [new_room(untrusting, f"192.0.2.{n}").status_code for n in range(3)]
    assert codes == [201, 201, 429], "each forged address got a bucket of its own"


def test_one_client_cannot_fill_a_room(strict: Server) -> None:
    room = new_room(strict, "198.51.100.20").json()

    names = iter(f"Mallory {n}" for n in range(10))  # a room refuses a second person's name

    def join_from(address: str) -> int:
        answer = httpx.post(
            f"{strict.base}/api/rooms/{room['id']}/participants",
            json={"name": next(names)},
            headers={"X-Forwarded-For": address},
        )
        return answer.status_code

    assert [join_from("198.51.100.66") for _ in range(3)] == [201, 201, 429]
    assert join_from("198.51.100.67") == 201


def test_sockets_per_client_are_limited_and_given_back_on_close(strict: Server) -> None:
    room = new_room(strict, "198.51.100.30").json()
    url = f"{strict.ws_base}/ws/rooms/{room['id']}?token={room['token']}"
    forwarded = {"X-Forwarded-For": "198.51.100.31"}
    with ExitStack() as stack:
        first = [
            stack.enter_context(connect(url, additional_headers=forwarded, open_timeout=10))
            for _ in range(3)
        ]
        with connect(url, additional_headers=forwarded, open_timeout=10) as extra:
            refusal = json.loads(extra.recv(timeout=5))
            assert refusal["code"] == "rate_limited"
            with pytest.raises(ConnectionClosed) as closed:
                extra.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
        first[0].close()
        time.sleep(0.5)
        with connect(url, additional_headers=forwarded, open_timeout=10) as again:
            assert json.loads(again.recv(timeout=5))["type"] == "state"


def test_one_participant_cannot_open_unlimited_sockets(server: Server) -> None:
    room = create_room(server)
    url = f"{server.ws_base}/ws/rooms/{room['id']}?token={room['token']}"
    with ExitStack() as stack:
        for _ in range(8):
            stack.enter_context(connect(url, open_timeout=10))
        with connect(url, open_timeout=10) as ninth:
            assert json.loads(ninth.recv(timeout=5))["code"] == "rate_limited"
            with pytest.raises(ConnectionClosed) as closed:
                ninth.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429


def test_a_websocket_from_another_sites_page_is_refused(server: Server) -> None:
    room = create_room(server)
    url = f"{server.ws_base}/ws/rooms/{room['id']}?token={room['token']}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="https://evil.example", open_timeout=10)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    own = f"http://127.0.0.1:{server.port}"
    with connect(url, origin=own, open_timeout=10) as socket:  # type: ignore[arg-type]
        assert json.loads(socket.recv(timeout=5))["type"] == "state"


def test_the_csp_lets_pages_connect_only_to_the_app_itself(server: Server) -> None:
    policy = httpx.get(server.base + "/").headers["content-security-policy"]
    sources = next(p for p in policy.split(";") if p.strip().startswith("connect-src")).split()
    host = f"127.0.0.1:{server.port}"
    assert sources == ["connect-src", "'self'", f"ws://{host}", f"wss://{host}"]


def test_configured_origins_decide_the_websocket_and_the_csp(configured: Server) -> None:
    policy = httpx.get(configured.base + "/").headers["content-security-policy"]
    assert "connect-src 'self' wss://poker.example.com;" in policy
    room = create_room(configured)
    url = f"{configured.ws_base}/ws/rooms/{room['id']}?token={room['token']}"
    origin = "https://poker.example.com"
    with connect(url, origin=origin, open_timeout=10) as socket:  # type: ignore[arg-type]
        assert json.loads(socket.recv(timeout=5))["type"] == "state"
    with pytest.raises(InvalidStatus):
        connect(url, origin=f"http://127.0.0.1:{configured.port}", open_timeout=10)  # type: ignore[arg-type]


def test_participants_who_left_long_ago_are_pruned(configured: Server) -> None:
    room = create_room(configured)
    join(configured, room["id"], "Ghost")  # joins over HTTP and never connects
    time.sleep(1.5)
    join(configured, room["id"], "Ann")
    state = httpx.get(f"{configured.base}/api/rooms/{room['id']}").json()
    assert not member(state, "Ghost"), "a long-departed participant kept their place"
    assert member(state, "Fay") and member(state, "Ann")


def test_the_lock_table_keeps_nothing_for_unknown_rooms() -> None:
    async def scenario(store: RoomStore) -> int:
        hub = Hub(store, Fanout(None), grace_seconds=60)

        async def ignore(_: object) -> None:
            return None

        for index in range(200):
            with pytest.raises(RoomError) as refused:
                await hub.connect(f"no-such-room-{index}", "hash", Outbox(ignore))
            assert refused.value.code is ErrorCode.NOT_FOUND
            del refused  # its traceback holds the frame that held the lock
        return len(hub._locks) + len(hub._pinned)  # noqa: SLF001 - the tables under test

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/poker.db")
        upgrade_to_head(engine)
        try:
            assert asyncio.run(scenario(RoomStore(engine))) == 0
        finally:
            engine.dispose()
