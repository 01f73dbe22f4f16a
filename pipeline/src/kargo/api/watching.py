"""Watch streams over Server-Sent Events: ADDED for what exists, then every committed change."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from kargo.api.contract import TEXT_ROUTE_ERRORS
from kargo.api.reading import resolve_kind
from kargo.api.redaction import redact_resource
from kargo.api.security import authorize, principal_of, readable
from kargo.api.state import ServerState, server_state
from kargo.api.streams import STREAMS
from kargo.auth.policy import Permission
from kargo.store import Change, ChangeType

router = APIRouter(prefix="/api/v1")
State = Annotated[ServerState, Depends(server_state)]
HEARTBEAT_SECONDS = 15.0
RESYNC = "resync"
"""The event sent instead of changes a full queue dropped: reload, then watch on."""


def sse(event: str, data: object) -> str:
    """One SSE message."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get(
    "/watch",
    response_class=StreamingResponse,
    responses={
        **TEXT_ROUTE_ERRORS,
        200: {
            "content": {"text/event-stream": {}},
            "description": "SSE: each event is ADDED, MODIFIED or DELETED, its data the resource",
        },
    },
)
async def watch(
    request: Request, state: State, project: str | None = None, kind: str | None = None
) -> StreamingResponse:
    """Stream changes of one kind (or all) in one project (or all the caller may read)."""
    if project:
        authorize(request, Permission("get", "watch", project))
    wanted = resolve_kind(kind) if kind else None
    stream = _stream(request, state, project, wanted)
    return StreamingResponse(
        STREAMS.bounded(principal_of(request).subject, stream),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request, state: State, project: str | None, kind: str | None
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size())
    allowed = readable(request, "watch")

    def push(changes: list[Change]) -> None:
        wanted = []
        for change in changes:
            if (kind is None or change.kind == kind) and (
                project is None or change.project in (project, "")
            ):
                owner = change.name if change.kind == "Project" else change.project
                if allowed(owner):
                    wanted.append(change)
        if wanted:  # one commit's changes reach the queue together
            loop.call_soon_threadsafe(_offer, queue, wanted)

    unsubscribe = state.store.watch(push)
    try:
        kinds = [kind] if kind else []
        for each in kinds:
            for body in await asyncio.to_thread(state.store.list, each, project):
                metadata = body.get("metadata") or {}
                owner = (
                    metadata.get("name", "") if each == "Project" else metadata.get("namespace", "")
                )
                if allowed(str(owner)):
                    yield sse(ChangeType.ADDED.value, redact_resource(body))
        while not state.closing.is_set() and not await request.is_disconnected():
            change = await _next_change(queue, state.closing)
            if change is None:
                yield ": keep-alive\n\n"
            elif change is _RESYNC:  # changes were dropped: the client must list again
                yield sse(RESYNC, {"reason": "the client fell behind; changes were dropped"})
            elif change is not _CLOSING:
                yield sse(change.type.value, redact_resource(change.body))
    finally:
        unsubscribe()


_CLOSING = object()
_RESYNC = object()
"""Queued instead of the changes a full queue dropped."""


def queue_size() -> int:
    """Changes a watch holds for a slow client ($KARGO_WATCH_QUEUE_SIZE, default 10000)."""
    raw = os.environ.get("KARGO_WATCH_QUEUE_SIZE", "")
    return max(1, int(raw)) if raw.isdigit() else 10_000


async def _next_change(queue: asyncio.Queue[Any], closing: asyncio.Event) -> Any:
    """The next change (or _RESYNC); None after a heartbeat's silence; _CLOSING at shutdown."""
    getting = asyncio.ensure_future(queue.get())
    stopping = asyncio.ensure_future(closing.wait())
    done, _ = await asyncio.wait(
        {getting, stopping}, timeout=HEARTBEAT_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    getting.cancel()
    stopping.cancel()
    if getting in done:
        return getting.result()
    return _CLOSING if stopping in done else None


def _offer(queue: asyncio.Queue[Any], changes: list[Change]) -> None:
    """Queue changes; when the queue is full, drop what it holds for one `resync` event."""
    for change in changes:
        if queue.full():
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(_RESYNC)
            return  # the client lists again: the rest of this commit is in what it lists
        queue.put_nowait(change)
