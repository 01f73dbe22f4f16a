"""The room WebSocket: resume by token, read messages, write state snapshots."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from planning_poker.errors import ErrorCode, RoomError, StoreError
from planning_poker.hub import Connection
from planning_poker.metrics import MESSAGES_IN, MESSAGES_OUT
from planning_poker.protocol import (
    MAX_MESSAGE_BYTES,
    MessageType,
    RateLimiter,
    action_for,
    parse_message,
)
from planning_poker.runtime import Services
from planning_poker.security import hash_token

log = logging.getLogger(__name__)
router = APIRouter()
CLOSE_UNKNOWN_ROOM = 4404
CLOSE_BAD_TOKEN = 4401
CLOSE_UNAVAILABLE = 1011


@router.websocket("/ws/rooms/{room_id}")
async def room_socket(websocket: WebSocket, room_id: str, token: str = "") -> None:
    """One participant's live connection to a room."""
    running: Services = websocket.app.state.services
    await websocket.accept()
    try:
        connection = await running.hub.connect(room_id, hash_token(running.settings.secret, token))
    except RoomError as exc:
        await websocket.send_text(json.dumps(exc.to_json()))
        code = CLOSE_UNKNOWN_ROOM if exc.code is ErrorCode.NOT_FOUND else CLOSE_BAD_TOKEN
        await websocket.close(code)
        return
    except StoreError:
        await websocket.close(CLOSE_UNAVAILABLE)
        return
    writer = asyncio.create_task(_write(websocket, connection))
    try:
        await _read(websocket, connection, running)
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await running.hub.disconnect(connection)


async def _write(websocket: WebSocket, connection: Connection) -> None:
    """Send queued messages in order; an int in the queue is a close code."""
    try:
        while True:
            item = await connection.outbox.get()
            if isinstance(item, int):
                await websocket.close(item)
                return
            await websocket.send_text(item)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return


async def _read(websocket: WebSocket, connection: Connection, running: Services) -> None:
    limiter = RateLimiter()
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None:
            data = message.get("bytes") or b""
            raw = data.decode("utf-8", errors="replace")
        try:
            await _handle(raw, connection, running, limiter)
        except RoomError as exc:
            connection.deliver(json.dumps(exc.to_json()))
            MESSAGES_OUT.inc()
        except StoreError as exc:
            log.warning("room %s: %s", connection.room_id, exc)
            refused = RoomError(ErrorCode.UNAVAILABLE, "the database is unavailable; try again")
            connection.deliver(json.dumps(refused.to_json()))


async def _handle(
    raw: str, connection: Connection, running: Services, limiter: RateLimiter
) -> None:
    if len(raw) > MAX_MESSAGE_BYTES:
        MESSAGES_IN.labels("too_large").inc()
        raise RoomError(ErrorCode.TOO_LARGE, f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
    if not limiter.allow():
        MESSAGES_IN.labels("rate_limited").inc()
        raise RoomError(ErrorCode.RATE_LIMITED, "too many messages; slow down")
    try:
        decoded = json.loads(raw)
    except ValueError:
        MESSAGES_IN.labels("malformed").inc()
        raise RoomError(ErrorCode.BAD_MESSAGE, "a message must be JSON") from None
    try:
        kind, body = parse_message(decoded)
    except RoomError:
        MESSAGES_IN.labels("malformed").inc()
        raise
    MESSAGES_IN.labels(kind.value).inc()
    if kind is MessageType.PING:
        connection.deliver('{"type": "pong"}')
        MESSAGES_OUT.inc()
        return
    await running.hub.mutate(connection.room_id, action_for(kind, body, connection.participant_id))
