"""Watch streams over Server-Sent Events: ADDED for what exists, then every committed change."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from kargo.api.reading import resolve_kind
from kargo.api.state import ServerState, server_state
from kargo.store import Change, ChangeType

router = APIRouter(prefix="/api/v1")
State = Annotated[ServerState, Depends(server_state)]
HEARTBEAT_SECONDS = 15.0


def sse(event: str, data: object) -> str:
    """One SSE message."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get(
    "/watch",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "SSE: each event is ADDED, MODIFIED or DELETED, its data the resource",
        }
    },
)
async def watch(
    request: Request, state: State, project: str | None = None, kind: str | None = None
) -> StreamingResponse:
    """Stream changes of one kind (or all) in one project (or all)."""
    wanted = resolve_kind(kind) if kind else None
    return StreamingResponse(
        _stream(request, state, project, wanted),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request, state: State, project: str | None, kind: str | None
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=10_000)

    def push(changes: list[Change]) -> None:
        for change in changes:
            if (kind is None or change.kind == kind) and (
                project is None or change.project in (project, "")
            ):
                loop.call_soon_threadsafe(_offer, queue, change)

    unsubscribe = state.store.watch(push)
    try:
        kinds = [kind] if kind else []
        for each in kinds:
            for body in await asyncio.to_thread(state.store.list, each, project):
                yield sse(ChangeType.ADDED.value, body)
        while not state.closing.is_set() and not await request.is_disconnected():
            change = await _next_change(queue, state.closing)
            if change is None:
                yield ": keep-alive\n\n"
            elif change is not _CLOSING:
                yield sse(change.type.value, change.body)
    finally:
        unsubscribe()


_CLOSING = object()


async def _next_change(queue: asyncio.Queue[Change], closing: asyncio.Event) -> Any:
    """The next change; None after a heartbeat's silence; _CLOSING once the server shuts down."""
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


def _offer(queue: asyncio.Queue[Change], change: Change) -> None:
    if not queue.full():
        queue.put_nowait(change)
