"""The ASGI application: routes, static files, middleware, and the background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from planning_poker import __version__, api, collector, pages, sockets
from planning_poker.errors import StoreError
from planning_poker.metrics import (
    ROOMS_EXPIRED,
    Receive,
    RequestTimingMiddleware,
    Scope,
    Send,
    render_metrics,
)
from planning_poker.migrations_child import Migrations
from planning_poker.runtime import Services, build_services
from planning_poker.security import SecurityHeadersMiddleware
from planning_poker.settings import Settings, load_settings

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
EXPIRY_SWEEP_SECONDS = 3600.0


async def _background(running: Services) -> None:
    """Timers, facilitator hand-over, SQLite checkpoints, and the expiry of idle rooms."""
    next_sweep = 0.0
    while True:
        now = time.time()
        await running.hub.tick(now)
        if running.store.local:
            try:  # in a thread: the commits on the loop never wait for the copy or its fsync
                await asyncio.to_thread(running.store.checkpoint)
            except StoreError as exc:
                log.warning("cannot checkpoint the database: %s", exc)
        if now >= next_sweep:
            next_sweep = now + EXPIRY_SWEEP_SECONDS
            idle = running.settings.room_expiry_days * 86400
            try:
                gone = await asyncio.to_thread(running.store.delete_expired, idle)
            except StoreError as exc:
                log.warning("cannot delete expired rooms: %s", exc)
            else:
                ROOMS_EXPIRED.inc(gone)
        await asyncio.sleep(TICK_SECONDS)


class PlanningPoker(FastAPI):
    """FastAPI, with the room WebSockets served before the framework's layers."""

    services: Services | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Room WebSockets straight to `sockets`; everything else through FastAPI."""
        room_id = sockets.room_of(scope)
        if room_id is not None and self.services is not None:
            await sockets.serve_room_socket(scope, receive, send, self.services, room_id)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None, migrate: bool = True, migrations: Migrations | None = None
) -> FastAPI:
    """Build the Planning Poker application (settings from the environment by default).

    The migrations run at start (or only report the heads when `migrate` is false) unless
    the caller already started them.
    """
    settings = settings or load_settings()
    running = build_services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        child = migrations or Migrations(settings.effective_database_url, apply=migrate)
        running.schema_heads = await asyncio.to_thread(child.heads, running.engine)
        await running.fanout.start(running.hub.instance_id, running.hub.on_remote_change)
        background = asyncio.create_task(_background(running))
        collector.settle(settings.gc_thresholds)
        collecting = asyncio.create_task(collector.collect_by_time())
        try:
            yield
        finally:
            running.hub.close_all()
            for task in (background, collecting):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await running.fanout.stop(running.hub.instance_id)
            running.store.close()
            running.engine.dispose()

    app = PlanningPoker(title="Planning Poker", version=__version__, lifespan=lifespan)
    app.state.services = app.services = running
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    @app.get("/metrics")
    async def metrics() -> Response:
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    @app.exception_handler(StarletteHTTPException)
    async def friendly_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and not request.url.path.startswith(("/api/", "/static/")):
            return HTMLResponse((pages.STATIC_DIR / "404.html").read_text(), status_code=404)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
            for e in exc.errors()
        ]
        body = {"code": "invalid", "message": "the request is invalid", "problems": problems}
        return JSONResponse(body, status_code=422)

    app.add_middleware(SecurityHeadersMiddleware, allowed_origins=settings.allowed_origins)
    app.add_middleware(RequestTimingMiddleware)
    return app
