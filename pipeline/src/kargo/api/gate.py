"""The door of the API: the bearer token is checked and the body capped before a body is read.

FastAPI parses a route's JSON body before its dependencies run, so an unauthenticated 40 MB
POST would be held in memory before `guard` refused it. This ASGI middleware runs first: it
authenticates every request but the public ones (the principal is handed on to `guard`), and
refuses a body above `MAX_BODY_BYTES` by its Content-Length, or while reading a chunked one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kargo.api.codes import ErrorCode
from kargo.api.errors import error_response, unavailable_response
from kargo.api.security import bearer_problem, unknown_token_message
from kargo.auth.tokens import authenticate
from kargo.store import StoreError

MAX_BODY_BYTES = 5_000_000
"""The largest body any route takes (a whole configuration for `apply`)."""


def is_public(path: str) -> bool:
    """The routes that need no token: liveness and the dashboard's static files."""
    return path in ("/healthz", "/", "/ui") or path.startswith("/ui/")


class RequestGate:
    """Authenticate, then cap the body; only then hand the request to the app."""

    def __init__(self, app: ASGIApp, store: Any) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        token, problem = bearer_problem(headers.get("authorization", ""))
        if problem is not None:
            await error_response(ErrorCode.UNAUTHORIZED, problem)(scope, receive, send)
            return
        try:
            principal = await asyncio.to_thread(authenticate, self.store, token)
        except StoreError as exc:  # outside the app's handlers: answer 503 here, not 500
            await unavailable_response(exc)(scope, receive, send)
            return
        if principal is None:
            message = unknown_token_message()
            await error_response(ErrorCode.UNAUTHORIZED, message)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await _too_large(scope, receive, send)
            return
        if length is None and "chunked" in headers.get("transfer-encoding", ""):
            body = await _read_capped(receive)
            if body is None:
                await _too_large(scope, receive, send)
                return
            receive = _replay(body)
        await self.app(scope, receive, send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    message = f"the request body is larger than {MAX_BODY_BYTES} bytes"
    await error_response(ErrorCode.TOO_LARGE, message)(scope, receive, send)


async def _read_capped(receive: Receive) -> bytes | None:
    """The whole chunked body, or None as soon as it passes the cap."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
