"""Fixtures for the app tests: a real planning-poker server on loopback, and clients."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.sync.client import ClientConnection, connect

from tests.services import VENV_BIN, free_port, require_postgres, running

GRACE_SECONDS = 1


@dataclass
class Server:
    """A running app process."""

    base: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def ws_base(self) -> str:
        """The ws:// address of the server."""
        return f"ws://127.0.0.1:{self.port}"


@contextmanager
def app_server(
    data_dir: Path, env: dict[str, str] | None = None, database_url: str | None = None
) -> Iterator[Server]:
    """Run `planning-poker` in its own process until the block ends."""
    port = free_port()
    argv = [str(VENV_BIN / "planning-poker"), "--port", str(port), "--data-dir", str(data_dir)]
    if database_url:
        argv += ["--database-url", database_url]
    base = f"http://127.0.0.1:{port}"
    with running(argv, base + "/healthz", env=env) as process:
        yield Server(base, port, process)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database of our own, dropped afterwards (the server is shared)."""
    admin_url = require_postgres()
    name = f"test_app_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One shared server for the tests that each use their own rooms (facilitator grace 1 s)."""
    env = {"PLANNING_POKER_FACILITATOR_GRACE_SECONDS": str(GRACE_SECONDS)}
    with app_server(tmp_path_factory.mktemp("app"), env=env) as running_server:
        yield running_server


def create_room(server: Server, deck: str = "fibonacci", **extra: Any) -> dict[str, str]:
    """Create a room through the API as facilitator Fay."""
    body = {"name": "Sprint", "deck": deck, "facilitatorName": "Fay", **extra}
    response = httpx.post(server.base + "/api/rooms", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


def join(server: Server, room_id: str, name: str, role: str = "voter") -> dict[str, str]:
    """Join a room through the API."""
    response = httpx.post(
        f"{server.base}/api/rooms/{room_id}/participants", json={"name": name, "role": role}
    )
    assert response.status_code == 201, response.text
    joined: dict[str, str] = response.json()
    return joined


class Peer:
    """A participant's WebSocket, remembering every message it received."""

    def __init__(self, server: Server, room_id: str, token: str) -> None:
        self._stack = ExitStack()
        self.socket: ClientConnection = self._stack.enter_context(
            connect(f"{server.ws_base}/ws/rooms/{room_id}?token={token}", open_timeout=10)
        )
        self.received: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any] | str) -> None:
        """Send a JSON message (or raw text)."""
        self.socket.send(message if isinstance(message, str) else json.dumps(message))

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message."""
        message: dict[str, Any] = json.loads(self.socket.recv(timeout=timeout))
        self.received.append(message)
        return message

    def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """Read until a message matches."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(message):
                return message

    def state(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> Any:
        """Read until a state snapshot's room matches; return the room."""
        found = self.until(lambda m: m["type"] == "state" and predicate(m["room"]), timeout)
        return found["room"]

    def close(self) -> None:
        """Close the socket."""
        self._stack.close()


@pytest.fixture
def peers() -> Iterator[Callable[[Server, str, str], Peer]]:
    """Open participant sockets that are closed after the test."""
    opened: list[Peer] = []

    def open_peer(server: Server, room_id: str, token: str) -> Peer:
        peer = Peer(server, room_id, token)
        opened.append(peer)
        return peer

    yield open_peer
    for peer in opened:
        peer.close()


def member(room: dict[str, Any], name: str) -> dict[str, Any]:
    """A participant entry of a room view, by name (empty when not there)."""
    found: dict[str, Any] = next((p for p in room["participants"] if p["name"] == name), {})
    return found
