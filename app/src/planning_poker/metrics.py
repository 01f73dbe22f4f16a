"""Prometheus metrics of the app (default registry, which adds the process metrics)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKET_CONNECTIONS = Gauge(
    "planning_poker_websocket_connections", "WebSocket connections open on this instance."
)
MESSAGES_IN = Counter(
    "planning_poker_messages_in_total", "WebSocket messages received, by type.", ["type"]
)
MESSAGES_OUT = Counter("planning_poker_messages_out_total", "WebSocket messages sent.")
ACTIVE_ROOMS = Gauge(
    "planning_poker_active_rooms", "Rooms with at least one connection on this instance."
)
ROOMS_EXPIRED = Counter("planning_poker_rooms_expired_total", "Rooms deleted after inactivity.")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def render_metrics() -> tuple[bytes, str]:
    """The metrics in the Prometheus text format, with its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


class RequestTimingMiddleware:
    """Observe every HTTP request's duration under its route template, not its raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_DURATION.labels(template, scope["method"], str(status)).observe(
                time.perf_counter() - started
            )
