"""Group commit: room saves waiting at the same time are written in one transaction.

Each change awaits its own save before anybody is told about it, so a state a client has seen
is in the database. Saves that arrive while a transaction is being written wait for the next
one, which then carries all of them: one thread hop and one commit for many rooms.
"""

from __future__ import annotations

import asyncio

from planning_poker.errors import StaleRoomError, StoreError
from planning_poker.rooms import Room
from planning_poker.store import RoomStore

MAX_BATCH = 200


class GroupCommit:
    """Queue saves from the event loop; one writer at a time drains them in batches."""

    def __init__(self, store: RoomStore) -> None:
        self.store = store
        self._waiting: list[tuple[Room, int, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def save(self, room: Room, expected_version: int) -> None:
        """Write the room (already at its new version) if stored at expected_version."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((room, expected_version, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            saves = [(room, expected) for room, expected, _ in batch]
            try:
                outcomes: list[StaleRoomError | None] = await asyncio.to_thread(
                    self.store.save_many, saves
                )
            except StoreError as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(StoreError(str(exc)))
                continue
            except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
                for _, _, future in batch + self._waiting:
                    if not future.done():
                        future.set_exception(StoreError(f"save interrupted: {exc!r}"))
                self._waiting = []
                raise
            for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if outcome is None:
                    future.set_result(None)
                else:
                    future.set_exception(outcome)
