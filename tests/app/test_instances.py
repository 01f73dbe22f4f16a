"""Two app processes sharing PostgreSQL and Redis serve one room together."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis
from planning_poker.decks import DeckKind, cards_for
from planning_poker.fanout import CHANNEL, CLIENT_NAME, Fanout
from planning_poker.hub import Hub
from planning_poker.migrating import upgrade_to_head
from planning_poker.outbox import Message, Outbox
from planning_poker.participants import Role
from planning_poker.rooms import Room, new_id
from planning_poker.store import RoomStore, make_engine

from tests.app.conftest import (
    Peer,
    Server,
    app_server,
    create_room,
    join,
    member,
    postgres_database,
)
from tests.services import require_redis

OpenPeer = Callable[[Server, str, str], Peer]


@pytest.mark.postgres
@pytest.mark.redis
def test_participants_on_two_instances_see_the_same_room(tmp_path: Path, peers: OpenPeer) -> None:
    redis_url = require_redis()
    with ExitStack() as stack:
        database_url = stack.enter_context(postgres_database())
        env = {"REDIS_URL": redis_url}
        one = stack.enter_context(app_server(tmp_path, env=env, database_url=database_url))
        two = stack.enter_context(app_server(tmp_path, env=env, database_url=database_url))
        assert httpx.get(two.base + "/readyz").json()["status"] == "ready"
        room = create_room(one)
        ann = join(two, room["id"], "Ann")
        fay = peers(one, room["id"], room["token"])
        ann_ws = peers(two, room["id"], ann["token"])
        fay.state(lambda r: member(r, "Ann").get("online") is True)

        ann_ws.send({"type": "vote", "card": "13"})
        seen = fay.state(lambda r: member(r, "Ann").get("hasVoted") is True)
        assert member(seen, "Ann")["vote"] is None

        fay.send({"type": "vote", "card": "13"})
        fay.send({"type": "reveal"})
        revealed = ann_ws.state(lambda r: r["revealed"])
        assert revealed["stats"]["consensus"] is True
        assert member(revealed, "Fay")["vote"] == "13"

        ann_ws.close()
        away = fay.state(lambda r: member(r, "Ann").get("online") is False)
        assert len(away["participants"]) == 2


@pytest.mark.postgres
@pytest.mark.redis
def test_changes_of_one_room_from_three_instances_at_once_all_commit() -> None:
    # Ten people of a room connecting through three instances at once: each instance's
    # changes queue behind its room lock, but the instances race on the stored version, and
    # a change that lost a few races in a row used to fail ("kept changing under us"), which
    # closed the new WebSocket with 1011 or left a closed one online.
    redis_url = require_redis()
    changes = 12

    async def scenario(stores: list[RoomStore], room_id: str) -> list[BaseException | None]:
        hubs = [Hub(store, Fanout(redis_url), grace_seconds=60) for store in stores]

        async def change(hub: Hub, number: int) -> None:
            def act(room: Room) -> None:
                room.settings.anyone_can_reveal = number % 2 == 0

            await hub.mutate(room_id, act)

        outcomes = await asyncio.gather(
            *(change(hub, n) for hub in hubs for n in range(changes)), return_exceptions=True
        )
        for hub in hubs:
            await hub.fanout.stop(hub.instance_id)
        return list(outcomes)

    with postgres_database() as url:
        engines = [make_engine(url) for _ in range(3)]
        try:
            upgrade_to_head(engines[0])
            stores = [RoomStore(engine) for engine in engines]
            room = Room(
                new_id(12), "Sprint", DeckKind.FIBONACCI, cards_for(DeckKind.FIBONACCI), 1.0
            )
            room.add_participant("Fay", Role.FACILITATOR, "hash", 1.0)
            stores[0].create(room)
            outcomes = asyncio.run(scenario(stores, room.id))
            assert [o for o in outcomes if o is not None] == []
            stored = stores[0].load(room.id)
            assert stored is not None and stored.version == 1 + 3 * changes
        finally:
            for engine in engines:
                engine.dispose()


@pytest.mark.redis
def test_a_room_slow_to_reload_does_not_hold_up_the_notices_of_other_rooms() -> None:
    # An instance handles another instance's change under the room's lock and reloads it; a
    # busy room (its lock held by a commit) used to stall the whole subscription behind it.
    redis_url = require_redis()
    slow, fast = f"slow-{new_id(6)}", f"fast-{new_id(6)}"

    async def scenario() -> float:
        listener, sender = Fanout(redis_url), Fanout(redis_url)
        release = asyncio.Event()
        arrived = asyncio.get_running_loop().create_future()

        async def on_change(room_id: str, version: int, document: object) -> None:
            if room_id == slow:
                await release.wait()
            elif room_id == fast and not arrived.done():
                arrived.set_result(None)

        await listener.start("listener", on_change)
        await asyncio.sleep(0.5)  # subscribed
        started = asyncio.get_running_loop().time()
        await sender.publish(slow, 2, "sender")
        await sender.publish(fast, 2, "sender")
        try:
            await asyncio.wait_for(arrived, 5)
            return asyncio.get_running_loop().time() - started
        finally:
            release.set()
            await listener.stop("listener")
            await sender.stop("sender")

    assert asyncio.run(scenario()) < 2


@contextlib.asynccontextmanager
async def _listening(redis_url: str, rooms: list[str]) -> AsyncIterator[set[str]]:
    """A started instance's fan-out; yields the ids among `rooms` it has heard of so far."""
    listener = Fanout(redis_url)
    seen: set[str] = set()
    wanted = set(rooms)

    async def on_change(room_id: str, version: int, document: object) -> None:
        if room_id in wanted:
            seen.add(room_id)

    await listener.start("listener", on_change)  # returns once Redis confirmed it
    try:
        yield seen
    finally:
        await listener.stop("listener")


async def _heard_of(seen: set[str], rooms: list[str]) -> int:
    """How many of `rooms` were heard of, once all were or after 5 s."""
    for _ in range(100):
        if len(seen) == len(rooms):
            break
        await asyncio.sleep(0.05)
    return len(seen)


@pytest.mark.redis
def test_every_notice_of_many_changes_at_once_reaches_the_other_instance() -> None:
    # Hundreds of rooms changing at once publish concurrently; redis-py's default pool refused
    # the 101st connection in use, and those notices were lost (other instances went stale).
    redis_url = require_redis()
    rooms = [f"many-{new_id(6)}-{n}" for n in range(300)]

    async def scenario() -> int:
        sender = Fanout(redis_url)
        async with _listening(redis_url, rooms) as seen:
            try:
                await asyncio.gather(*(sender.publish(room, 2, "sender") for room in rooms))
                return await _heard_of(seen, rooms)
            finally:
                await sender.stop("sender")

    assert asyncio.run(scenario()) == len(rooms)


def _named_connections(redis_url: str) -> int:
    """How many connections to Redis carry the app's client name."""
    with redis.Redis.from_url(redis_url) as admin:
        return sum(1 for client in admin.client_list() if client.get("name") == CLIENT_NAME)


@pytest.mark.redis
def test_notices_published_at_once_go_out_together_on_one_connection() -> None:
    # Each notice used to be its own command on a connection of its own: 300 rooms changing at
    # once opened the pool's 50 connections and paid a round trip each. They now wait for the
    # one publisher, which sends those that queued while it was busy in one pipeline.
    redis_url = require_redis()
    rooms = [f"together-{new_id(6)}-{n}" for n in range(300)]

    async def scenario() -> int:
        sender = Fanout(redis_url)
        try:
            await asyncio.gather(*(sender.publish(room, 2, "sender") for room in rooms))
            return await asyncio.to_thread(_named_connections, redis_url)
        finally:
            await sender.stop("sender")

    before = _named_connections(redis_url)
    assert asyncio.run(scenario()) - before == 1


@pytest.mark.redis
def test_notices_waiting_when_an_instance_stops_are_sent_first() -> None:
    # Notices wait for the one publisher task; stopping sends what waits before it cancels the
    # task and closes the client (without that, all 100 here were given up).
    redis_url = require_redis()
    rooms = [f"stopping-{new_id(6)}-{n}" for n in range(100)]

    async def scenario() -> int:
        sender = Fanout(redis_url)
        async with _listening(redis_url, rooms) as seen:
            publishing = [asyncio.create_task(sender.publish(r, 2, "sender")) for r in rooms]
            await asyncio.sleep(0)  # every publish has begun and waits for Redis
            await sender.stop("sender")
            await asyncio.wait_for(asyncio.gather(*publishing), 10)  # none is left waiting
            return await _heard_of(seen, rooms)

    assert asyncio.run(scenario()) == len(rooms)


def test_a_notice_published_as_soon_as_an_instance_started_reaches_it() -> None:
    # start() used to return before the subscription existed: a notice published right after
    # it was lost (the test above slept 0.5 s first, and flaked under load). The notice goes
    # out from a blocking client, so the listener's tasks cannot run before Redis has it.
    redis_url = require_redis()
    room = f"at-once-{new_id(6)}"
    notice = json.dumps({"room": room, "version": 2, "instance": "sender"})

    async def scenario() -> list[str]:
        listener = Fanout(redis_url)
        seen: list[str] = []

        async def on_change(room_id: str, version: int, document: object) -> None:
            seen.append(room_id)

        with redis.Redis.from_url(redis_url) as sender:
            await listener.start("listener", on_change)
            try:
                sender.publish(CHANNEL, notice)
                for _ in range(100):
                    if room in seen:
                        break
                    await asyncio.sleep(0.02)
                return seen
            finally:
                await listener.stop("listener")

    assert room in asyncio.run(scenario())


class CountingStore(RoomStore):
    """A store that counts its loads."""

    loads = 0

    def load(self, room_id: str) -> Room | None:
        self.loads += 1
        return super().load(room_id)


def _room_with(*names: str) -> Room:
    room = Room(new_id(12), "Sprint", DeckKind.FIBONACCI, cards_for(DeckKind.FIBONACCI), 1.0)
    for number, name in enumerate(names):
        role = Role.FACILITATOR if number == 0 else Role.VOTER
        room.add_participant(name, role, f"hash-{name}", 1.0)
    return room


@pytest.mark.postgres
@pytest.mark.redis
def test_another_instance_takes_the_notices_document_without_reading_the_database() -> None:
    # Each notice used to make every other instance holding sockets of the room reload the
    # whole room from PostgreSQL (4.6 ms of CPU per vote against 1.1 ms alone).
    redis_url = require_redis()
    votes = 6

    async def scenario(stores: list[CountingStore], room: Room) -> tuple[int, list[str]]:
        writer, reader = (Hub(store, Fanout(redis_url), grace_seconds=60) for store in stores)
        for hub in (writer, reader):
            await hub.fanout.start(hub.instance_id, hub.on_remote_change)
        await asyncio.sleep(0.5)  # subscribed
        seen: list[str] = []

        async def record(message: Message) -> None:
            seen.append(message.get("text") or "")

        fay = room.by_token_hash("hash-Fay")
        assert fay is not None
        try:
            await reader.connect(room.id, "hash-Ann", Outbox(record))
            loads_after_connect = stores[1].loads
            for number in range(votes):

                def vote(changed: Room, card: str = "13" if number % 2 else "8") -> None:
                    changed.vote(fay.id, card)

                await writer.mutate(room.id, vote)
            final = 2 + votes  # created at 1, Ann's connect 2, then the votes
            for _ in range(100):
                if f'"version":{final}' in "".join(seen):
                    break
                await asyncio.sleep(0.05)
            return stores[1].loads - loads_after_connect, seen
        finally:
            for hub in (writer, reader):
                await hub.fanout.stop(hub.instance_id)

    with postgres_database() as url:
        engines = [make_engine(url) for _ in range(2)]
        try:
            upgrade_to_head(engines[0])
            stores = [CountingStore(engine) for engine in engines]
            room = _room_with("Fay", "Ann")
            stores[0].create(room)
            reloads, seen = asyncio.run(scenario(stores, room))
            assert any(f'"version":{2 + votes}' in text for text in seen)
            assert reloads == 0
        finally:
            for engine in engines:
                engine.dispose()
