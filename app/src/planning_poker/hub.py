"""Live rooms on this instance: serialised changes, broadcasts, and Redis fan-out.

Every change runs under the room's lock: load (from the cache when this instance is the only
one, else from the database), apply, save with a version check (group-committed with the
saves of other rooms), then tell every local connection and, through Redis, every other
instance.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from planning_poker.commits import GroupCommit
from planning_poker.errors import ErrorCode, RoomError, StaleRoomError, StoreError
from planning_poker.fanout import Fanout
from planning_poker.metrics import ACTIVE_ROOMS, MESSAGES_OUT, WEBSOCKET_CONNECTIONS
from planning_poker.rooms import Room, new_id
from planning_poker.store import RoomStore
from planning_poker.views import public_view, state_messages

log = logging.getLogger(__name__)
T = TypeVar("T")
SAVE_ATTEMPTS = 5
SEND_QUEUE_LIMIT = 256
CLOSE_REMOVED = 4403


@dataclass(eq=False)
class Connection:
    """One open WebSocket: what it is for and what waits to be sent on it."""

    room_id: str
    participant_id: str
    outbox: asyncio.Queue[str | int] = field(
        default_factory=lambda: asyncio.Queue(SEND_QUEUE_LIMIT)
    )

    def deliver(self, text: str) -> None:
        """Queue a message; a client too slow to keep up is disconnected."""
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.close(1013)

    def close(self, code: int) -> None:
        """Ask the writer to close the socket with a code once the queue is sent."""
        while True:
            try:
                self.outbox.put_nowait(code)
                return
            except asyncio.QueueFull:
                self.outbox.get_nowait()


class Hub:
    """The rooms this instance serves."""

    def __init__(self, store: RoomStore, fanout: Fanout, grace_seconds: float) -> None:
        self.store = store
        self.commits = GroupCommit(store)
        self.fanout = fanout
        self.grace_seconds = grace_seconds
        self.instance_id = new_id(8)
        self._cache: dict[str, Room] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._connections: dict[str, set[Connection]] = {}

    # -- reading ----------------------------------------------------------------------------

    def _lock(self, room_id: str) -> asyncio.Lock:
        return self._locks.setdefault(room_id, asyncio.Lock())

    async def _fresh(self, room_id: str) -> Room | None:
        """The room as stored, with presence of dead instances forgotten."""
        cached = self._cache.get(room_id)
        if cached is not None and not self.fanout.enabled:
            return cached
        room = await self._load_pruned(room_id)
        if room is None:
            self._cache.pop(room_id, None)
            return None
        if room_id in self._connections:
            self._cache[room_id] = room
        return room

    async def _load_pruned(self, room_id: str) -> Room | None:
        """The stored room, with connections of instances that are gone forgotten."""
        room = await asyncio.to_thread(self.store.load, room_id)
        if room is None:
            return None
        seen = {i for p in room.participants.values() for i in p.connections} - {self.instance_id}
        alive = await self.fanout.alive_among(seen) | {self.instance_id}
        now = time.time()
        for participant in room.participants.values():
            participant.forget_instances(alive, now)
        return room

    async def view(self, room_id: str) -> dict[str, object] | None:
        """The public view of a room, or None when it does not exist."""
        room = await self.load(room_id)
        return public_view(room) if room is not None else None

    async def load(self, room_id: str) -> Room | None:
        """A room to read (not to change)."""
        return self._cache.get(room_id) or await self._load_pruned(room_id)

    # -- changing ---------------------------------------------------------------------------

    async def create(self, room: Room) -> None:
        """Store a new room."""
        await asyncio.to_thread(self.store.create, room)

    async def _apply(self, room_id: str, action: Callable[[Room], T]) -> tuple[Room, T]:
        for _ in range(SAVE_ATTEMPTS):
            room = await self._fresh(room_id)
            if room is None:
                raise RoomError(ErrorCode.NOT_FOUND, "this room does not exist (any more)")
            try:
                result = action(room)
            except RoomError:
                self._cache.pop(room_id, None)  # the action may have half-changed it
                raise
            expected = room.version
            room.version += 1
            try:
                # Saved before anybody is told: a state a client has seen is in the database.
                await self.commits.save(room, expected)
            except StaleRoomError:
                self._cache.pop(room_id, None)
                continue
            except StoreError:
                self._cache.pop(room_id, None)
                raise
            return room, result
        raise StoreError(f"room {room_id} kept changing under us; try again")

    async def mutate(self, room_id: str, action: Callable[[Room], T]) -> T:
        """Apply an action to a room, save it and tell everyone."""
        async with self._lock(room_id):
            room, result = await self._apply(room_id, action)
            self._broadcast(room)
        await self.fanout.publish(room_id, room.version, self.instance_id)
        return result

    async def connect(self, room_id: str, token_hash: str) -> Connection:
        """Resume the participant holding the token on a new connection."""
        opened: list[Connection] = []

        def come_online(room: Room) -> Connection:
            participant = room.by_token_hash(token_hash)
            if participant is None:
                raise RoomError(ErrorCode.NOT_ALLOWED, "unknown participant token")
            participant.connect(self.instance_id)
            if not opened:  # registered before the broadcast so that it gets the state too
                opened.append(Connection(room_id, participant.id))
                self._connections.setdefault(room_id, set()).add(opened[0])
            return opened[0]

        async with self._lock(room_id):
            try:
                room, connection = await self._apply(room_id, come_online)
            except (RoomError, StoreError):
                self._forget(opened)
                raise
            self._cache[room_id] = room
            WEBSOCKET_CONNECTIONS.inc()
            ACTIVE_ROOMS.set(len(self._connections))
            self._broadcast(room)
        await self.fanout.publish(room_id, room.version, self.instance_id)
        return connection

    def _forget(self, connections: list[Connection]) -> None:
        for connection in connections:
            local = self._connections.get(connection.room_id, set())
            local.discard(connection)
            if not local:
                self._connections.pop(connection.room_id, None)

    async def disconnect(self, connection: Connection) -> None:
        """Forget a closed connection; the participant shows as away when it was the last."""
        room_id = connection.room_id
        local = self._connections.get(room_id, set())
        if connection not in local:
            return
        local.discard(connection)
        WEBSOCKET_CONNECTIONS.dec()

        def go_away(room: Room) -> None:
            participant = room.participants.get(connection.participant_id)
            if participant is not None:
                participant.disconnect(self.instance_id, time.time())

        try:
            await self.mutate(room_id, go_away)
        except (RoomError, StoreError) as exc:
            log.info("room %s: could not record a disconnect: %s", room_id, exc)
        finally:
            if not local:
                self._connections.pop(room_id, None)
                self._cache.pop(room_id, None)
                self._locks.pop(room_id, None)
            ACTIVE_ROOMS.set(len(self._connections))

    # -- telling ----------------------------------------------------------------------------

    def _broadcast(self, room: Room) -> None:
        connections = self._connections.get(room.id)
        if not connections:
            return
        render = state_messages(room)
        for connection in list(connections):
            if connection.participant_id not in room.participants:
                connection.deliver(json.dumps({"type": "removed"}))
                connection.close(CLOSE_REMOVED)
                continue
            connection.deliver(render(connection.participant_id))
            MESSAGES_OUT.inc()

    async def on_remote_change(self, room_id: str, version: int) -> None:
        """Another instance changed a room: reload it and tell local connections."""
        if room_id not in self._connections:
            return
        async with self._lock(room_id):
            cached = self._cache.get(room_id)
            if cached is not None and cached.version >= version:
                return
            self._cache.pop(room_id, None)
            try:
                room = await self._fresh(room_id)
            except StoreError as exc:
                log.warning("room %s: cannot reload after a remote change: %s", room_id, exc)
                return
            if room is not None:
                self._broadcast(room)

    async def tick(self, now: float) -> None:
        """Reveal rooms whose timer ran out; pass on the role of long-gone facilitators."""
        for room_id, room in list(self._cache.items()):
            due = room.timer_ends_at is not None and now >= room.timer_ends_at
            facilitator = room.facilitator()
            heir_present = any(
                p.online and p is not facilitator for p in room.participants.values()
            )
            gone = heir_present and (
                facilitator is None
                or (
                    not facilitator.online
                    and facilitator.away_since is not None
                    and now - facilitator.away_since > self.grace_seconds
                )
            )
            if not due and not gone:
                continue

            def catch_up(room: Room) -> None:
                room.reveal_if_timer_done(now)
                room.pass_facilitator_if_gone(now, self.grace_seconds)

            try:
                await self.mutate(room_id, catch_up)
            except (RoomError, StoreError) as exc:
                log.info("room %s: tick skipped: %s", room_id, exc)

    def close_all(self) -> None:
        """Ask every local connection to close (the server is going away)."""
        for connections in self._connections.values():
            for connection in connections:
                connection.close(1012)
