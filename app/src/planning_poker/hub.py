"""Live rooms on this instance: serialised changes, broadcasts, and Redis fan-out.

Every change runs under the room's lock: take the cached room (loaded from the database when
there is none, or when the version-checked save found it stale), apply, save with a version
check (group-committed with the saves of other rooms), then tell every local connection and,
through Redis, every other instance. A notice carries the committed document: an instance
holding sockets of the room takes it as its copy (when newer than the one it has) without
reading the database; a notice without one (too large) makes it reload.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from planning_poker.commits import GroupCommit
from planning_poker.deltas import DeltaMessages, Snapshot, changes, snapshot
from planning_poker.errors import ErrorCode, RoomError, StaleRoomError, StoreError
from planning_poker.fanout import Fanout
from planning_poker.frames import Text
from planning_poker.metrics import ACTIVE_ROOMS, MESSAGES_OUT, WEBSOCKET_CONNECTIONS
from planning_poker.outbox import Outbox
from planning_poker.pruning import prune_departed
from planning_poker.rooms import MAX_PARTICIPANTS, Room, new_id
from planning_poker.store import RoomStore, encode_document
from planning_poker.views import public_view, room_from_doc, state_messages

log = logging.getLogger(__name__)
T = TypeVar("T")
# Instances sharing a database race on a room's stored version; a change that keeps losing
# retries this long (after a short random pause each time) before it fails.
CONFLICT_SECONDS = 5.0
CONFLICT_PAUSE_SECONDS = 0.05
CLOSE_REMOVED = 4403
REMOVED_MESSAGE = '{"type": "removed"}'
MAX_SOCKETS_PER_PARTICIPANT = 8
CLOSE_RECONNECT = 1012
PRUNE_EVERY_SECONDS = 60.0
LEAVE_RETRY_SECONDS = 0.5


@dataclass(eq=False, slots=True)
class Connection:
    """One open WebSocket: whose it is, whether it takes deltas, and its send side."""

    room_id: str
    participant_id: str
    outbox: Outbox
    deltas: bool = False

    def deliver(self, message: str | Text) -> None:
        """Send a message (at once when the socket is writable)."""
        self.outbox.deliver(message)

    def close(self, code: int) -> None:
        """Close the socket with a code once what is queued is sent."""
        self.outbox.close(code)


class Hub:
    """The rooms this instance serves."""

    def __init__(
        self,
        store: RoomStore,
        fanout: Fanout,
        grace_seconds: float,
        departed_seconds: float = float("inf"),
    ) -> None:
        self.store = store
        self.commits = GroupCommit(store, inline=store.local)
        self.fanout = fanout
        self.grace_seconds = grace_seconds
        self.departed_seconds = departed_seconds
        self.instance_id = new_id(8)
        self._cache: dict[str, Room] = {}
        # A lock lives while a change holds or awaits it: ids of unknown rooms leave nothing.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Rooms with local connections keep theirs: no new lock and weak entry per change.
        self._pinned: dict[str, asyncio.Lock] = {}
        self._connections: dict[str, set[Connection]] = {}
        self._views: dict[str, Snapshot] = {}  # the public view last broadcast
        self._pruned_at: dict[str, float] = {}  # rooms with local connections only
        self._leaving: dict[str, list[str]] = {}  # closed sockets' participants, not yet stored
        self._closed = False

    # -- reading ----------------------------------------------------------------------------

    def _lock(self, room_id: str) -> asyncio.Lock:
        lock = self._pinned.get(room_id) or self._locks.get(room_id)
        if lock is None:
            lock = self._locks[room_id] = asyncio.Lock()
        if room_id in self._connections:
            self._pinned[room_id] = lock
        return lock

    async def _fresh(self, room_id: str) -> Room | None:
        """The cached room, else the room as stored; presence of dead instances forgotten.

        A cached copy may be behind another instance's change whose notice has not arrived:
        the version-checked save then refuses it, and the next attempt reloads.
        """
        cached = self._cache.get(room_id)
        if cached is not None:
            if self.fanout.enabled:
                await self._forget_gone(cached)
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
        if room is not None:
            await self._forget_gone(room)
        return room

    async def _forget_gone(self, room: Room) -> None:
        """Forget the connections of instances that are gone (crashed or restarted)."""
        seen = {i for p in room.participants.values() for i in p.connections} - {self.instance_id}
        if not seen:
            return
        alive = await self.fanout.alive_among(seen)
        if alive == seen:
            return
        alive.add(self.instance_id)
        now = time.time()
        for participant in room.participants.values():
            participant.forget_instances(alive, now)

    async def view(self, room_id: str) -> dict[str, object] | None:
        """The public view of a room, or None when it does not exist."""
        room = await self.load(room_id)
        return public_view(room) if room is not None else None

    async def load(self, room_id: str) -> Room | None:
        """A room to read (not to change), never with a change that is not committed yet.

        A change applies to the cached copy before its save; a read during the save waits for
        it to end (saved, or dropped with the copy), so that nobody sees what may be lost.
        """
        lock = self._pinned.get(room_id) or self._locks.get(room_id)
        if lock is not None and lock.locked():
            async with lock:
                pass
        return self._cache.get(room_id) or await self._load_pruned(room_id)

    # -- changing ---------------------------------------------------------------------------

    async def create(self, room: Room) -> None:
        """Store a new room."""
        await asyncio.to_thread(self.store.create, room)

    async def _apply(self, room_id: str, action: Callable[[Room], T]) -> tuple[Room, T, str]:
        deadline = time.monotonic() + CONFLICT_SECONDS
        for attempt in itertools.count():
            if attempt:  # lost a race: let the other instances' queued changes through first
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(
                    random.uniform(0, min(CONFLICT_PAUSE_SECONDS, 0.002 * 2**attempt))
                )
            room = await self._fresh(room_id)
            if room is None:
                raise RoomError(ErrorCode.NOT_FOUND, "this room does not exist (any more)")
            try:
                self._prune(room)
                result = action(room)
            except RoomError:
                self._cache.pop(room_id, None)  # the action may have half-changed it
                raise
            expected = room.version
            room.version += 1
            document = encode_document(room)
            try:
                # Saved before anybody is told: a state a client has seen is in the database.
                await self.commits.save(room, expected, document)
            except StaleRoomError:
                self._cache.pop(room_id, None)
                continue
            except StoreError:
                self._cache.pop(room_id, None)
                raise
            return room, result, document
        raise StoreError(f"room {room_id} kept changing under us; try again")

    def _prune(self, room: Room) -> None:
        """Forget long-departed participants when the room is full, else once a minute."""
        now = time.time()
        full = len(room.participants) >= MAX_PARTICIPANTS
        if full or now - self._pruned_at.get(room.id, 0.0) >= PRUNE_EVERY_SECONDS:
            if room.id in self._connections:
                self._pruned_at[room.id] = now
            prune_departed(room, now, self.departed_seconds)

    async def mutate(self, room_id: str, action: Callable[[Room], T]) -> T:
        """Apply an action to a room, save it and tell everyone."""
        lock = self._lock(room_id)
        async with lock:
            room, result, document = await self._apply(room_id, action)
            self._broadcast(room)
        await self.fanout.publish(room_id, room.version, self.instance_id, document)
        return result

    async def connect(
        self, room_id: str, token_hash: str, outbox: Outbox, deltas: bool = False
    ) -> Connection:
        """Resume the participant holding the token on a new connection."""
        opened: list[Connection] = []

        def come_online(room: Room) -> Connection:
            participant = room.by_token_hash(token_hash)
            if participant is None:
                raise RoomError(ErrorCode.NOT_ALLOWED, "unknown participant token")
            local = self._connections.get(room_id, set())
            mine = sum(1 for c in local if c.participant_id == participant.id and c not in opened)
            if mine >= MAX_SOCKETS_PER_PARTICIPANT:
                raise RoomError(
                    ErrorCode.RATE_LIMITED,
                    f"at most {MAX_SOCKETS_PER_PARTICIPANT} connections per participant",
                )
            participant.connect(self.instance_id)
            if not opened:  # registered before the broadcast so that it gets the state too
                opened.append(Connection(room_id, participant.id, outbox, deltas))
                self._connections.setdefault(room_id, set()).add(opened[0])
            return opened[0]

        lock = self._lock(room_id)
        async with lock:
            try:
                room, connection, document = await self._apply(room_id, come_online)
            except (RoomError, StoreError):
                self._forget(opened)
                raise
            self._cache[room_id] = room
            WEBSOCKET_CONNECTIONS.inc()
            ACTIVE_ROOMS.set(len(self._connections))
            self._broadcast(room, joined=connection)
        await self.fanout.publish(room_id, room.version, self.instance_id, document)
        return connection

    def _forget(self, connections: list[Connection]) -> None:
        for connection in connections:
            local = self._connections.get(connection.room_id, set())
            local.discard(connection)
            if not local:
                self._connections.pop(connection.room_id, None)
                self._pinned.pop(connection.room_id, None)

    async def disconnect(self, connection: Connection) -> None:
        """Forget a closed connection; the participant shows as away when it was the last.

        The leave is recorded however long the room keeps changing under us or the database
        stays out (until the hub closes): a leave given up would show the participant online
        for good.
        """
        room_id = connection.room_id
        local = self._connections.get(room_id, set())
        if connection not in local:
            return
        local.discard(connection)
        WEBSOCKET_CONNECTIONS.dec()
        self._leaving.setdefault(room_id, []).append(connection.participant_id)
        try:
            await self._record_leaves(room_id)
        finally:
            if not local and self._connections.get(room_id) is local:
                self._connections.pop(room_id, None)
                self._cache.pop(room_id, None)
                self._views.pop(room_id, None)
                self._pruned_at.pop(room_id, None)
                self._pinned.pop(room_id, None)
            ACTIVE_ROOMS.set(len(self._connections))

    async def _record_leaves(self, room_id: str) -> None:
        """Store every leave of a room waiting to be stored, in one change; retried until done.

        Leaves that queue behind the room's lock are carried by the first change that gets it:
        the sockets of a room closing at once make one change per instance, not one each.
        """
        while True:
            failed: StoreError | None = None
            async with self._lock(room_id):
                leaving = self._leaving.pop(room_id, None)
                if not leaving:
                    return  # carried by an earlier leave's change
                try:
                    room, _, document = await self._apply(room_id, self._goes_away(leaving))
                except RoomError:  # the room is gone, and its presence with it
                    return
                except StoreError as exc:
                    self._leaving.setdefault(room_id, []).extend(leaving)
                    failed = exc
                else:
                    self._broadcast(room)
            if failed is None:
                await self.fanout.publish(room_id, room.version, self.instance_id, document)
                return
            if self._closed:
                log.warning("room %s: leaves not recorded at shutdown: %s", room_id, failed)
                return
            log.warning(
                "room %s: recording leaves again in %gs: %s", room_id, LEAVE_RETRY_SECONDS, failed
            )
            await asyncio.sleep(LEAVE_RETRY_SECONDS)

    def _goes_away(self, leaving: list[str]) -> Callable[[Room], None]:
        """The change that counts one connection less for each participant id given."""

        def go_away(room: Room) -> None:
            now = time.time()
            for participant_id in leaving:
                participant = room.participants.get(participant_id)
                if participant is not None:
                    participant.disconnect(self.instance_id, now)

        return go_away

    # -- telling ----------------------------------------------------------------------------

    def _broadcast(self, room: Room, joined: Connection | None = None) -> None:
        """Tell local connections: a delta to those that take one, else the full state.

        The shared delta goes out first; messages built for one receiver (an own card, a full
        state) follow, so that those who only learn of the change are not kept waiting.
        """
        connections = self._connections.get(room.id)
        if not connections:
            return
        public = public_view(room)
        before = self._views.get(room.id)
        now = self._views[room.id] = snapshot(public)
        body = changes(before, public, now) if before is not None else None
        small = DeltaMessages(room, body) if body is not None else None
        own_deltas: list[Connection] = []
        full_states: list[Connection] = []
        sent = 0
        for connection in list(connections):
            if connection.participant_id not in room.participants:
                connection.deliver(REMOVED_MESSAGE)
                connection.close(CLOSE_REMOVED)
                continue
            sent += 1
            if small is None or not connection.deltas or connection is joined:
                full_states.append(connection)
            elif connection.participant_id in small.personal:
                own_deltas.append(connection)
            else:
                connection.outbox.deliver(small.shared)  # no Connection.deliver: one call less
        if small is not None:
            for connection in own_deltas:
                connection.deliver(small.own(connection.participant_id))
        if full_states:
            full = state_messages(room, public)
            for connection in full_states:
                connection.deliver(full(connection.participant_id))
        MESSAGES_OUT.inc(sent)

    async def resend_state(self, connection: Connection) -> None:
        """Send one connection the full state it asked for (it missed a delta's base)."""
        async with self._lock(connection.room_id):
            room = self._cache.get(connection.room_id)
            if room is None or connection.room_id not in self._views:
                connection.close(CLOSE_RECONNECT)  # the page reconnects and gets the state
                return
            connection.deliver(state_messages(room, public_view(room))(connection.participant_id))
            MESSAGES_OUT.inc()

    async def on_remote_change(
        self, room_id: str, version: int, document: dict[str, Any] | None = None
    ) -> None:
        """Another instance committed a room at `version`: take its document (else reload the
        room) unless this instance's copy is as new, and tell local connections.

        Notices may arrive late, out of order or not at all: an older one is ignored, a newer
        one replaces the copy whole (a document is the full state, so a skipped version needs
        nothing else), and a change made on a copy left behind is refused by the save's
        version check and reloaded.
        """
        if room_id not in self._connections:
            return
        lock = self._lock(room_id)
        async with lock:
            cached = self._cache.get(room_id)
            if cached is not None and cached.version >= version:
                return
            room: Room | None
            if document is not None:
                try:
                    room = room_from_doc(document, version)
                except (KeyError, TypeError, ValueError):
                    log.warning("room %s: a notice's document is malformed; reloading", room_id)
                    document = None
                else:
                    await self._forget_gone(room)
            if document is None:
                self._cache.pop(room_id, None)
                try:
                    room = await self._fresh(room_id)
                except StoreError as exc:
                    log.warning("room %s: cannot reload after a remote change: %s", room_id, exc)
                    return
            if room is not None and room_id in self._connections:
                self._cache[room_id] = room
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
        self._closed = True
        for connections in self._connections.values():
            for connection in connections:
                connection.close(CLOSE_RECONNECT)
