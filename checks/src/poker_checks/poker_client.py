"""An async client for the Planning Poker protocol (docs/app-protocol.md): HTTP, WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

Room = dict[str, Any]


class ProtocolError(Exception):
    """The app answered, but not as the protocol says; or it did not answer at all."""


@dataclass(frozen=True)
class Seat:
    """A participant's identity in a room: the ids and token the app handed out."""

    room_id: str
    participant_id: str
    token: str


def websocket_url(base_url: str, room_id: str, token: str) -> str:
    """The room's WebSocket address for a participant token."""
    base = base_url.rstrip("/")
    scheme = "wss" if base.startswith("https") else "ws"
    return f"{scheme}://{base.split('://', 1)[1]}/ws/rooms/{room_id}?token={token}"


def expect_json(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The JSON object of a response with one of the expected statuses, or a ProtocolError."""
    where = f"{response.request.method} {response.request.url.path}"
    if response.status_code not in statuses:
        raise ProtocolError(f"{where} answered {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise ProtocolError(f"{where} answered non-JSON: {response.text[:200]!r}") from exc
    if not isinstance(body, dict):
        raise ProtocolError(f"{where} answered {type(body).__name__}, not an object")
    return body


async def create_room(http: httpx.AsyncClient, name: str, facilitator: str) -> Seat:
    """Create a fibonacci room; the caller becomes its facilitator."""
    body = {"name": name, "deck": "fibonacci", "facilitatorName": facilitator}
    data = expect_json(await http.post("/api/rooms", json=body), 201)
    try:
        return Seat(str(data["id"]), str(data["participantId"]), str(data["token"]))
    except KeyError as exc:
        raise ProtocolError(f"POST /api/rooms answer lacks {exc}: {data}") from exc


async def join_room(
    http: httpx.AsyncClient, room_id: str, name: str, role: str, token: str | None = None
) -> tuple[Seat, int]:
    """Join (or, with a token, resume) as a participant; also returns the HTTP status."""
    body: dict[str, Any] = {"name": name, "role": role}
    if token is not None:
        body["token"] = token
    response = await http.post(f"/api/rooms/{room_id}/participants", json=body)
    data = expect_json(response, 200, 201)
    try:
        return Seat(room_id, str(data["participantId"]), str(data["token"])), response.status_code
    except KeyError as exc:
        raise ProtocolError(f"join answer lacks {exc}: {data}") from exc


class RoomSocket:
    """One participant's WebSocket: send messages and wait for the state you expect."""

    def __init__(self, connection: ClientConnection, seat: Seat) -> None:
        self.connection = connection
        self.seat = seat
        self.room: Room | None = None

    @classmethod
    async def open(cls, base_url: str, seat: Seat, timeout: float) -> RoomSocket:
        """Connect and wait for the first state message."""
        url = websocket_url(base_url, seat.room_id, seat.token)
        try:
            connection = await asyncio.wait_for(connect(url, open_timeout=timeout), timeout)
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise ProtocolError(f"WebSocket to room {seat.room_id} failed: {exc!r}") from exc
        socket = cls(connection, seat)
        await socket.wait_for(lambda room: True, timeout)
        return socket

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message."""
        try:
            await self.connection.send(json.dumps(message))
        except WebSocketException as exc:
            raise ProtocolError(f"sending {message} failed: {exc!r}") from exc

    async def receive(self, timeout: float) -> dict[str, Any]:
        """The next JSON message from the server."""
        try:
            raw = await asyncio.wait_for(self.connection.recv(), timeout)
        except (WebSocketException, TimeoutError) as exc:
            raise ProtocolError(f"no message from the server: {exc!r}") from exc
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise ProtocolError(f"the server sent non-JSON: {str(raw)[:200]!r}") from exc
        if not isinstance(message, dict):
            raise ProtocolError(f"the server sent {type(message).__name__}, not an object")
        return message

    async def wait_for(self, predicate: Callable[[Room], bool], timeout: float) -> Room:
        """Read messages until a state whose room satisfies predicate; remember the latest room."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.room is not None and predicate(self.room):
                return self.room
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ProtocolError(f"timed out waiting for the expected state; last: {self.room}")
            message = await self.receive(remaining)
            if message.get("type") == "state" and isinstance(message.get("room"), dict):
                self.room = message["room"]
            elif message.get("type") == "error":
                raise ProtocolError(f"the server refused a message: {message}")

    async def ping(self, timeout: float) -> None:
        """Send a ping and wait for the pong (state messages in between are kept)."""
        await self.send({"type": "ping"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            message = await self.receive(deadline - loop.time())
            if message.get("type") == "pong":
                return
            if message.get("type") == "state" and isinstance(message.get("room"), dict):
                self.room = message["room"]
        raise ProtocolError("no pong after ping")

    async def close(self) -> None:
        """Close the connection, ignoring a connection that is already gone."""
        try:
            await self.connection.close()
        except WebSocketException:
            pass


def participant(room: Room, participant_id: str) -> dict[str, Any]:
    """The entry of one participant in a room state."""
    for entry in room.get("participants", []):
        if entry.get("id") == participant_id:
            return dict(entry)
    raise ProtocolError(f"participant {participant_id} is not in the room state")
