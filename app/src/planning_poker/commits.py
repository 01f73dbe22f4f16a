"""Group commit: room saves waiting at the same time are written in one transaction.

Each change awaits its own save before anybody is told about it, so a state a client has seen
is in the database. Saves that arrive while a transaction is being written wait for the next
one, which then carries all of them: one commit for many rooms.

On SQLite (a local file, no network) the transaction is written on the event loop itself,
once the loop has run every callback that was ready: no thread hop, no wait for the GIL. A
database across a network (PostgreSQL) is written from a thread so the loop keeps serving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from planning_poker.errors import StaleRoomError, StoreError
from planning_poker.rooms import Room
from planning_poker.store import RoomStore

MAX_BATCH = 200
Waiting = list[tuple[Room, int, str, asyncio.Future[None]]]  # room, expected version, document


class GroupCommit:
    """Queue saves from the event loop; one writer at a time drains them in batches."""

    def __init__(self, store: RoomStore, inline: bool = False) -> None:
        self.store = store
        self.inline = inline
        self._waiting: Waiting = []
        self._writer: asyncio.Task[None] | None = None
        self._scheduled = False

    async def save(self, room: Room, expected_version: int, document: str) -> None:
        """Write the room (already at its new version, encoded as `document`) if stored at
        expected_version."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append((room, expected_version, document, future))
        if self.inline:
            if not self._scheduled:
                self._scheduled = True
                loop.call_soon(self._write_inline)
        elif self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await future

    def _write_inline(self) -> None:
        self._scheduled = False
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            outcomes: Sequence[StoreError | None]
            try:
                outcomes = self.store.save_many(*_saves(batch))
            except StoreError as exc:
                outcomes = [StoreError(str(exc))] * len(batch)
            _settle(batch, outcomes)

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                outcomes: list[StaleRoomError | None] = await asyncio.to_thread(
                    self.store.save_many, *_saves(batch)
                )
            except StoreError as exc:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(StoreError(str(exc)))
                continue
            except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
                for *_, future in batch + self._waiting:
                    if not future.done():
                        future.set_exception(StoreError(f"save interrupted: {exc!r}"))
                self._waiting = []
                raise
            _settle(batch, outcomes)


def _saves(batch: Waiting) -> tuple[list[tuple[Room, int]], float | None, list[str]]:
    """`save_many`'s arguments for a batch: the saves, no fixed time, their documents."""
    return [(room, expected) for room, expected, _, _ in batch], None, [d for _, _, d, _ in batch]


def _settle(batch: Waiting, outcomes: Sequence[StoreError | None]) -> None:
    """Wake each waiting change with its outcome (None: committed)."""
    for (*_, future), outcome in zip(batch, outcomes, strict=True):
        if future.done():
            continue
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)
