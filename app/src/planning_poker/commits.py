"""Group commit: room saves waiting at the same time are written in one transaction.

Each change awaits its own save before anybody is told about it, so a state a client has seen
is in the database. Saves that arrive while a transaction is being written wait for the next
one, which then carries all of them: one commit for many rooms.

On SQLite (a local file, no network) the transaction is written on the event loop itself,
once the loop has run every callback that was ready: no thread hop, no wait for the GIL. When
no other callback is ready (or the loop cannot tell: uvloop), the save is written at once,
without the two turns of the loop a deferred write and the wake-up after it cost (about a
tenth of a paced vote's time on the server). A database across a
network (PostgreSQL) is written from a thread so the loop keeps serving.
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
        if self.inline and not self._waiting and _nothing_else_ready(loop):
            _raise_outcome(self._write([(room, expected_version)], [document])[0])
            return
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append((room, expected_version, document, future))
        if self.inline:
            if not self._scheduled:
                self._scheduled = True
                loop.call_soon(self._write_inline)
        elif self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await future

    def _write(
        self, saves: list[tuple[Room, int]], documents: list[str]
    ) -> Sequence[StoreError | None]:
        """Write saves in one transaction on this thread; per save, None or its error."""
        try:
            return self.store.save_many(saves, None, documents)
        except StoreError as exc:
            return [StoreError(str(exc))] * len(saves)

    def _write_inline(self) -> None:
        self._scheduled = False
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            _settle(batch, self._write(*_saves(batch)))

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                saves, documents = _saves(batch)
                outcomes: list[StaleRoomError | None] = await asyncio.to_thread(
                    self.store.save_many, saves, None, documents
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


def _nothing_else_ready(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether no other callback is due before the loop next polls. asyncio's own loop keeps
    them in `_ready`; uvloop, the server's loop, does not show its queue: there each save is
    written at once, one transaction per room."""
    ready = getattr(loop, "_ready", None)
    return ready is None or not ready


def _saves(batch: Waiting) -> tuple[list[tuple[Room, int]], list[str]]:
    """The saves of a batch and their documents."""
    return [(room, expected) for room, expected, _, _ in batch], [d for _, _, d, _ in batch]


def _raise_outcome(outcome: StoreError | None) -> None:
    """Raise a save's error, if it had one."""
    if outcome is not None:
        raise outcome


def _settle(batch: Waiting, outcomes: Sequence[StoreError | None]) -> None:
    """Wake each waiting change with its outcome (None: committed)."""
    for (*_, future), outcome in zip(batch, outcomes, strict=True):
        if future.done():
            continue
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)
