"""The room WebSocket, served straight on ASGI: resume by token, read messages, send states.

It sits in front of the framework (the app's `__call__` hands `/ws/rooms/{id}` here before
any middleware) so that a connection holds, and each message passes, none of the layers a
routed endpoint would. Upgrades from
another site's page (an `Origin` that is not the app's own) are refused with 403.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import orjson

from planning_poker.clients import client_address
from planning_poker.errors import ErrorCode, RoomError, StoreError
from planning_poker.frames import FRAMES_EXTENSION
from planning_poker.hub import Connection
from planning_poker.inbound import MESSAGES_EXTENSION, MessageSource, Reader, text_of
from planning_poker.metrics import MESSAGES_IN, MESSAGES_OUT, Receive, Scope, Send
from planning_poker.origins import origin_allowed
from planning_poker.outbox import Outbox
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
PATH_PREFIX = "/ws/rooms/"
CLOSE_UNKNOWN_ROOM = 4404
CLOSE_BAD_TOKEN = 4401
CLOSE_TOO_MANY = 4429
CLOSE_UNAVAILABLE = 1011
COUNTED = {kind: MESSAGES_IN.labels(kind.value) for kind in MessageType}  # labels() locks
PONG = '{"type": "pong"}'
REFUSAL_SECONDS = 5.0


def room_of(scope: Scope) -> str | None:
    """The room id when the scope is a room WebSocket, else None."""
    if scope["type"] != "websocket":
        return None
    path: str = scope.get("path", "")
    room_id = path.removeprefix(PATH_PREFIX)
    if not path.startswith(PATH_PREFIX) or "/" in room_id:
        return None
    return room_id


async def serve_room_socket(
    scope: Scope, receive: Receive, send: Send, running: Services, room_id: str
) -> None:
    """Serve one room WebSocket from its first ASGI event on."""
    if (await receive())["type"] != "websocket.connect":
        return
    await room_socket(scope, receive, send, running, room_id)


def _refuse(outbox: Outbox, error: RoomError, code: int) -> None:
    outbox.deliver(json.dumps(error.to_json()))
    outbox.close(code)


async def room_socket(
    scope: Scope, receive: Receive, send: Send, running: Services, room_id: str
) -> None:
    """One participant's live connection to a room."""
    settings = running.settings
    if not origin_allowed(scope, settings.allowed_origins):
        await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
        return
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    token = query.get("token", [""])[0]
    client = client_address(scope, settings.proxies)
    await send({"type": "websocket.accept"})
    extensions = scope.get("extensions") or {}
    outbox = Outbox(send, extensions.get(FRAMES_EXTENSION))
    if not running.limits.open_socket(client):
        busy = RoomError(ErrorCode.RATE_LIMITED, "too many connections from your address")
        _refuse(outbox, busy, CLOSE_TOO_MANY)
        await outbox.drain(REFUSAL_SECONDS)
        return
    try:
        deltas = query.get("deltas") == ["1"]
        source = extensions.get(MESSAGES_EXTENSION)
        await _serve(receive, source, outbox, running, room_id, token, deltas)
    finally:
        running.limits.close_socket(client)


async def _serve(  # noqa: PLR0913 - one connection's parts, passed on once
    receive: Receive,
    source: MessageSource | None,
    outbox: Outbox,
    running: Services,
    room_id: str,
    token: str,
    deltas: bool,
) -> None:
    try:
        connection = await running.hub.connect(
            room_id, hash_token(running.settings.secret, token), outbox, deltas
        )
    except RoomError as exc:
        code = {ErrorCode.NOT_FOUND: CLOSE_UNKNOWN_ROOM, ErrorCode.RATE_LIMITED: CLOSE_TOO_MANY}
        _refuse(outbox, exc, code.get(exc.code, CLOSE_BAD_TOKEN))
        await outbox.drain(REFUSAL_SECONDS)
        return
    except StoreError as exc:
        log.warning("room %s: cannot connect: %s", room_id, exc)
        outbox.close(CLOSE_UNAVAILABLE)
        await outbox.drain(REFUSAL_SECONDS)
        return
    try:
        await _read(receive, source, connection, running)
    finally:
        await outbox.drain()
        await running.hub.disconnect(connection)


async def _read(
    receive: Receive, source: MessageSource | None, connection: Connection, running: Services
) -> None:
    """Handle the connection's messages until it closes: handed over by the server as they are
    parsed when it offers that, else read from the ASGI queue."""
    limiter = RateLimiter()

    async def handle(raw: str) -> None:
        try:
            await _handle(raw, connection, running, limiter)
        except RoomError as exc:
            connection.deliver(json.dumps(exc.to_json()))
            MESSAGES_OUT.inc()
        except StoreError as exc:
            log.warning("room %s: %s", connection.room_id, exc)
            refused = RoomError(ErrorCode.UNAVAILABLE, "the database is unavailable; try again")
            connection.deliver(json.dumps(refused.to_json()))

    def failed(exc: Exception) -> None:
        log.error("room %s: a message failed", connection.room_id, exc_info=exc)
        connection.close(CLOSE_UNAVAILABLE)

    reader = None
    if source is not None:
        reader = Reader(handle, source, failed)
        source.take_messages(reader.take)
    try:
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            await handle(text_of(message))
    finally:
        if reader is not None:
            await reader.finish()


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
        decoded = orjson.loads(raw)
    except ValueError:  # orjson's JSONDecodeError is one
        MESSAGES_IN.labels("malformed").inc()
        raise RoomError(ErrorCode.BAD_MESSAGE, "a message must be JSON") from None
    try:
        kind, body = parse_message(decoded)
    except RoomError:
        MESSAGES_IN.labels("malformed").inc()
        raise
    COUNTED[kind].inc()
    if kind is MessageType.PING:
        connection.deliver(PONG)
        MESSAGES_OUT.inc()
        return
    if kind is MessageType.SYNC:
        await running.hub.resend_state(connection)
        return
    await running.hub.mutate(connection.room_id, action_for(kind, body, connection.participant_id))
