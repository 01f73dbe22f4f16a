"""Room change notices between instances over Redis pub/sub, and which instances are alive.

A notice names the room, its new version and the sender, and carries the committed document
(up to `MAX_NOTICE_DOCUMENT` bytes) so that the other instances need not read the database.
Notices are sent by one publisher task: those that wait while it sends go out together in one
pipeline (one write, one round trip), and stopping sends what is waiting first.
Without REDIS_URL the instance works alone: nothing is published and only it is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)
CHANNEL = "planning-poker:rooms"
INSTANCE_KEY = "planning-poker:instance:"
HEARTBEAT_SECONDS = 5.0
INSTANCE_TTL_SECONDS = 20
REDIS_CONNECTIONS = 50
REDIS_WAIT_SECONDS = 10.0
MAX_NOTICE_DOCUMENT = 256 * 1024  # a larger room is announced without it: receivers reload
SUBSCRIBE_WAIT_SECONDS = 5.0  # start-up waits this long for Redis to confirm the subscription
CLIENT_NAME = "planning-poker"  # how the app's connections show in Redis' CLIENT LIST

# The room, its new version, its document (None: read it from the database).
OnChange = Callable[[str, int, dict[str, Any] | None], Awaitable[None]]


class Fanout:
    """Publish room changes and deliver other instances' changes to a callback."""

    def __init__(self, redis_url: str | None) -> None:
        self.enabled = redis_url is not None
        self._client: aioredis.Redis | None = None
        self._errors: tuple[type[Exception], ...] = (OSError,)
        if redis_url:
            # Imported only when used: the client and its dependencies hold about 14 MiB.
            import redis.asyncio
            from redis.exceptions import RedisError

            # A blocking pool: a publish waits for a free connection; redis-py's default pool
            # fails at once beyond 100 in use ("Too many connections"), losing the notice.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                redis_url,
                max_connections=REDIS_CONNECTIONS,
                timeout=REDIS_WAIT_SECONDS,
                client_name=CLIENT_NAME,
            )
            self._client = redis.asyncio.Redis.from_pool(pool)  # closed with the client
            self._errors = (RedisError, OSError)
        self._alive: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._handling: set[asyncio.Task[None]] = set()
        self._subscribed = asyncio.Event()  # Redis confirmed the subscription
        self._outgoing: list[bytes] = []  # notices waiting for the publisher
        self._outgoing_sent: asyncio.Future[None] | None = None  # resolved once they are sent
        self._publisher: asyncio.Task[None] | None = None

    async def alive_among(self, instance_ids: set[str]) -> set[str]:
        """Which of these instances are alive: seen lately, or with a heartbeat key now."""
        known = instance_ids & self._alive
        unknown = instance_ids - self._alive
        if self._client is None or not unknown:
            return known
        try:
            for instance_id in unknown:
                if await self._client.exists(INSTANCE_KEY + instance_id):
                    self._alive.add(instance_id)
                    known.add(instance_id)
        except self._errors as exc:
            log.warning("cannot ask Redis which instances are alive: %s", exc)
            return instance_ids  # forget nobody while Redis is out
        return known

    async def publish(
        self, room_id: str, version: int, instance_id: str, document: str | None = None
    ) -> None:
        """Tell other instances that a room changed, with its committed document (JSON text)
        when given; a Redis outage is logged, not raised."""
        if self._client is None:
            return
        head = orjson.dumps({"room": room_id, "version": version, "instance": instance_id})
        notice = head
        if document is not None and len(document) <= MAX_NOTICE_DOCUMENT:
            notice = b"".join((head[:-1], b',"document":', document.encode(), b"}"))
        self._outgoing.append(notice)
        if self._outgoing_sent is None:
            self._outgoing_sent = asyncio.get_running_loop().create_future()
        sent = self._outgoing_sent
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.create_task(self._publish_outgoing())
        # Shielded: a caller cancelled while it waits leaves its notice to be sent all the same.
        await asyncio.shield(sent)

    async def _publish_outgoing(self) -> None:
        """Send the waiting notices, those that queue meanwhile in the next pipeline, until none
        waits; a Redis outage is logged and the notices given up (receivers catch up on the next
        change: a notice carries the whole state)."""
        assert self._client is not None
        while self._outgoing:
            notices, self._outgoing = self._outgoing, []
            sent, self._outgoing_sent = self._outgoing_sent, None
            try:
                if len(notices) == 1:
                    await self._client.publish(CHANNEL, notices[0])
                else:
                    async with self._client.pipeline(transaction=False) as pipeline:
                        for notice in notices:
                            pipeline.publish(CHANNEL, notice)
                        await pipeline.execute()
            except self._errors as exc:
                log.warning("cannot publish %d room change(s) to Redis: %s", len(notices), exc)
            except Exception:  # the publisher must go on: later notices' callers wait for it
                log.exception("publishing %d room change(s) to Redis failed", len(notices))
            finally:
                if sent is not None and not sent.done():
                    sent.set_result(None)

    async def start(self, instance_id: str, on_change: OnChange) -> None:
        """Begin the heartbeat and the subscription (no-op without Redis); return once Redis
        confirmed the subscription, so every notice published after that is heard, or after
        `SUBSCRIBE_WAIT_SECONDS` (Redis out: the subscription keeps retrying)."""
        if self._client is None:
            return
        await self._heartbeat_once(instance_id)
        self._tasks = [
            asyncio.create_task(self._heartbeat(instance_id)),
            asyncio.create_task(self._listen(instance_id, on_change)),
        ]
        try:
            await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_WAIT_SECONDS)
        except TimeoutError:
            log.warning("Redis has not confirmed the subscription to room changes yet")

    async def stop(self, instance_id: str) -> None:
        """Stop the background work and say goodbye."""
        publisher = self._publisher
        if publisher is not None and not publisher.done():  # what is waiting goes out first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(publisher), REDIS_WAIT_SECONDS)
        running = [*self._tasks, *self._handling]
        if publisher is not None:
            running.append(publisher)
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._give_up_outgoing()
        if self._client is not None:
            with contextlib.suppress(*self._errors):
                await self._client.delete(INSTANCE_KEY + instance_id)
            await self._client.aclose()

    def _give_up_outgoing(self) -> None:
        """Release the callers of notices that stopping left unsent (Redis kept them waiting)."""
        if self._outgoing:
            log.warning("stopping: %d room change(s) not published to Redis", len(self._outgoing))
            self._outgoing = []
        sent, self._outgoing_sent = self._outgoing_sent, None
        if sent is not None and not sent.done():
            sent.set_result(None)

    async def _heartbeat_once(self, instance_id: str) -> None:
        assert self._client is not None
        try:
            await self._client.set(INSTANCE_KEY + instance_id, "1", ex=INSTANCE_TTL_SECONDS)
            keys = [key async for key in self._client.scan_iter(match=INSTANCE_KEY + "*")]
            self._alive = {
                (k.decode() if isinstance(k, bytes) else str(k)).removeprefix(INSTANCE_KEY)
                for k in keys
            }
        except self._errors as exc:
            log.warning("Redis heartbeat failed: %s", exc)

    async def _heartbeat(self, instance_id: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._heartbeat_once(instance_id)

    async def _listen(self, instance_id: str, on_change: OnChange) -> None:
        assert self._client is not None
        delay = 0.5
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    delay = 0.5
                    async for message in pubsub.listen():
                        if message.get("type") == "subscribe":
                            self._subscribed.set()
                        if message.get("type") != "message":
                            continue
                        # Each notice is handled in its own task: a room waiting for its lock
                        # or its reload must not hold up the notices of every other room.
                        task = asyncio.create_task(
                            self._dispatch(message["data"], instance_id, on_change)
                        )
                        self._handling.add(task)
                        task.add_done_callback(self._handling.discard)
            except self._errors as exc:
                log.warning("Redis subscription lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _dispatch(self, data: bytes | str, instance_id: str, on_change: OnChange) -> None:
        try:
            notice = orjson.loads(data)
            room_id, version, sender = notice["room"], int(notice["version"]), notice["instance"]
            document = notice.get("document")
            if document is not None and not isinstance(document, dict):
                raise TypeError("a notice's document is an object")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring a malformed room change notice")
            return
        if sender != instance_id:
            self._alive.add(str(sender))
            try:
                await on_change(str(room_id), version, document)
            except Exception:  # one bad room must not end the subscription
                log.exception("handling a change of room %s failed", room_id)
