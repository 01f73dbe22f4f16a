"""Watch streams over Server-Sent Events: ADDED for what exists, then every committed change."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

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
        while not await request.is_disconnected():
            try:
                change = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield sse(change.type.value, change.body)
    finally:
        unsubscribe()


def _offer(queue: asyncio.Queue[Change], change: Change) -> None:
    if not queue.full():
        queue.put_nowait(change)
