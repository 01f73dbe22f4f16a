"""The checks service: the suites behind HTTP endpoints, each behind its own semaphore.

Every route but /healthz needs the service's bearer token, checked before the body is read;
bodies are capped. A suite answers 200 with its report whether it passed or not (the caller's
conditions judge `passed`); a malformed body gets 422; a path outside the roots or a target
outside the allow-list gets 400 with the reason; a suite that stays busy longer than the queue
timeout answers 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum

from fastapi import FastAPI, HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from poker_checks import __version__
from poker_checks.access import (
    RequestRefused,
    ServiceSettings,
    check_load,
    check_security,
    check_smoke,
)
from poker_checks.load import run_load
from poker_checks.results import LoadReport, SecurityReport, SmokeReport
from poker_checks.security import run_security
from poker_checks.smoke import run_smoke
from poker_checks.targets import LoadRequest, SecurityRequest, SmokeRequest


class Suite(StrEnum):
    """The three suites the service runs."""

    SMOKE = "smoke"
    SECURITY = "security"
    LOAD = "load"


DEFAULT_LIMITS = {Suite.SMOKE: 4, Suite.SECURITY: 2, Suite.LOAD: 1}
QUEUE_TIMEOUT_ENV = "POKER_CHECKS_QUEUE_TIMEOUT"


def suite_limits() -> dict[Suite, int]:
    """Concurrent runs allowed per suite; POKER_CHECKS_<SUITE>_CONCURRENCY overrides."""
    limits = {}
    for suite, default in DEFAULT_LIMITS.items():
        raw = os.environ.get(f"POKER_CHECKS_{suite.value.upper()}_CONCURRENCY", "")
        limits[suite] = max(1, int(raw)) if raw.isdigit() else default
    return limits


class Gate:
    """A semaphore per suite; waiting longer than the queue timeout answers 429."""

    def __init__(self, limits: dict[Suite, int], queue_timeout: float) -> None:
        self.semaphores = {suite: asyncio.Semaphore(limit) for suite, limit in limits.items()}
        self.queue_timeout = queue_timeout

    @asynccontextmanager
    async def slot(self, suite: Suite) -> AsyncIterator[None]:
        """Hold one of the suite's slots for the duration of the block."""
        semaphore = self.semaphores[suite]
        try:
            await asyncio.wait_for(semaphore.acquire(), self.queue_timeout)
        except TimeoutError as exc:
            raise HTTPException(
                status_code=429,
                detail=f"the {suite.value} suite is busy; retry later",
                headers={"Retry-After": "30"},
            ) from exc
        try:
            yield
        finally:
            semaphore.release()


MAX_BODY_BYTES = 64 * 1024
OPEN_PATHS = frozenset({"/healthz"})


class TokenGuard:
    """ASGI middleware: the bearer token and a body cap, before any route reads the body."""

    def __init__(self, app: ASGIApp, settings: ServiceSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        if not self.settings.authenticated(headers.get("authorization")):
            detail = "a bearer token is required: Authorization: Bearer <the service's token>"
            await _answer(send, 401, detail, {"www-authenticate": "Bearer"})
            return
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            await _answer(send, 413, f"the body must declare a length up to {MAX_BODY_BYTES} bytes")
            return
        await self.app(scope, receive, send)


async def _answer(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start + extra})
    await send({"type": "http.response.body", "body": body})


def _refused(exc: RequestRefused) -> HTTPException:
    return HTTPException(status_code=400, detail=str(exc))


def create_app(
    settings: ServiceSettings,
    limits: dict[Suite, int] | None = None,
    queue_timeout: float | None = None,
) -> FastAPI:
    """Build the checks service for callers holding settings.token."""
    app = FastAPI(title="Planning Poker checks", version=__version__)
    app.add_middleware(TokenGuard, settings=settings)
    timeout = queue_timeout or float(os.environ.get(QUEUE_TIMEOUT_ENV, "600"))
    gate = Gate(limits or suite_limits(), timeout)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/smoke")
    async def smoke(request: SmokeRequest) -> SmokeReport:
        """API health, basic functionality and a user flow against request.url."""
        try:
            check_smoke(settings, request)
        except RequestRefused as exc:
            raise _refused(exc) from exc
        async with gate.slot(Suite.SMOKE):
            return await run_smoke(request)

    @app.post("/security")
    async def security(request: SecurityRequest) -> SecurityReport:
        """Advisories, dependency checks, bandit and configuration validation."""
        try:
            checked = check_security(settings, request)
        except RequestRefused as exc:
            raise _refused(exc) from exc
        async with gate.slot(Suite.SECURITY):
            return await asyncio.to_thread(run_security, checked)

    @app.post("/load")
    async def load(request: LoadRequest) -> LoadReport:
        """A short locust run against request.url."""
        try:
            check_load(settings, request)
        except RequestRefused as exc:
            raise _refused(exc) from exc
        async with gate.slot(Suite.LOAD):
            return await asyncio.to_thread(run_load, request)

    return app
