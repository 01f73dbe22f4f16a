"""The room store on SQLite and PostgreSQL, migrations included."""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from planning_poker.decks import DeckKind, cards_for
from planning_poker.errors import StaleRoomError, StoreError
from planning_poker.migrating import migrations_current, upgrade_to_head
from planning_poker.participants import Role
from planning_poker.rooms import Room
from planning_poker.store import RoomStore, make_engine, rooms_table

from tests.app.conftest import postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every backend the store supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def store(database_url: str) -> Iterator[RoomStore]:
    """A migrated store."""
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield RoomStore(engine)
    engine.dispose()


def new_room() -> Room:
    room = Room(secrets.token_hex(6), "Sprint", DeckKind.T_SHIRT, cards_for(DeckKind.T_SHIRT), 1.0)
    room.add_participant("Fay", Role.FACILITATOR, "hash", 1.0)
    return room


def test_migrations_bring_an_empty_database_to_the_current_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert not migrations_current(engine)
        upgrade_to_head(engine)
        upgrade_to_head(engine)  # a second run changes nothing
        assert migrations_current(engine)
    finally:
        engine.dispose()


def test_a_saved_room_loads_back_with_a_new_version(store: RoomStore) -> None:
    room = new_room()
    store.create(room)
    fay = room.facilitator()
    assert fay is not None
    room.vote(fay.id, "M")
    room.version = 2
    store.save(room, expected_version=1)
    loaded = store.load(room.id)
    assert loaded is not None and loaded.version == 2
    assert loaded.participants[fay.id].vote == "M"
    assert store.load("nope") is None


def test_a_save_from_a_stale_copy_is_refused(store: RoomStore) -> None:
    room = new_room()
    store.create(room)
    first, second = store.load(room.id), store.load(room.id)
    assert first is not None and second is not None
    first.version = second.version = 2
    store.save(first, expected_version=1)
    with pytest.raises(StaleRoomError):
        store.save(second, expected_version=1)


def test_rooms_idle_longer_than_the_expiry_are_deleted(store: RoomStore) -> None:
    old, fresh = new_room(), new_room()
    now = time.time()
    store.create(old, now=now - 31 * 86400)
    store.create(fresh, now=now)
    assert store.delete_expired(30 * 86400, now=now) == 1
    assert store.load(old.id) is None and store.load(fresh.id) is not None


@pytest.mark.postgres
def test_group_commits_of_two_instances_on_the_same_rooms_never_deadlock() -> None:
    # Two instances batch the same rooms in different orders; each batch is one transaction,
    # so row locks taken in batch order would deadlock (PostgreSQL then fails one batch).
    with postgres_database() as url:
        engines = [make_engine(url), make_engine(url)]
        try:
            upgrade_to_head(engines[0])
            stores = [RoomStore(engine) for engine in engines]
            rooms = [new_room() for _ in range(20)]
            for room in rooms:
                stores[0].create(room)
            failures: list[BaseException] = []
            committed = [0, 0]

            def hammer(number: int) -> None:
                shuffler = random.Random(number)
                deadline = time.monotonic() + 4
                while time.monotonic() < deadline and not failures:
                    batch = [stores[number].load(room.id) for room in rooms]
                    shuffler.shuffle(batch)
                    saves = []
                    for loaded in batch:
                        assert loaded is not None
                        loaded.version += 1
                        saves.append((loaded, loaded.version - 1))
                    try:
                        outcomes = stores[number].save_many(saves)
                    except StoreError as exc:
                        failures.append(exc.__cause__ or exc)
                        return
                    committed[number] += sum(1 for outcome in outcomes if outcome is None)

            threads = [threading.Thread(target=hammer, args=(n,)) for n in (0, 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == []
            assert min(committed) > 0  # both instances got changes in
            stored = [stores[0].load(room.id) for room in rooms]
            assert sum(r.version - 1 for r in stored if r is not None) == sum(committed)
        finally:
            for engine in engines:
                engine.dispose()


def test_a_group_commit_answers_each_save_in_the_order_given(store: RoomStore) -> None:
    rooms = sorted((new_room() for _ in range(3)), key=lambda room: room.id, reverse=True)
    for room in rooms:
        store.create(room)
    for room in rooms:
        room.version = 2
    # Given in descending id order, written in ascending order, answered in the order given.
    outcomes = store.save_many([(rooms[0], 5), (rooms[1], 1), (rooms[2], 1)])
    assert isinstance(outcomes[0], StaleRoomError) and rooms[0].id in str(outcomes[0])
    assert outcomes[1:] == [None, None]
    versions = [loaded.version for room in rooms if (loaded := store.load(room.id)) is not None]
    assert versions == [1, 2, 2]


def activity_of(store: RoomStore, room: Room) -> float:
    """The room's stored last_activity_at."""
    column = rooms_table.c.last_activity_at
    with store.engine.connect() as connection:
        found = connection.execute(sa.select(column).where(rooms_table.c.id == room.id))
        return float(found.scalar_one())


def test_the_activity_time_is_rewritten_once_a_minute_not_at_every_save(
    store: RoomStore,
) -> None:
    room = new_room()
    store.create(room, now=1000.0)
    for version, now in ((2, 1030.0), (3, 1059.0)):
        room.version = version
        assert store.save_many([(room, version - 1)], now=now) == [None]
        assert activity_of(store, room) == 1000.0  # the indexed column is left alone
    room.version = 4
    assert store.save_many([(room, 3)], now=1060.0) == [None]
    assert activity_of(store, room) == 1060.0
    loaded = store.load(room.id)
    assert loaded is not None and loaded.version == 4
    restarted = RoomStore(store.engine)  # a new instance knows nothing: its first save writes it
    room.version = 5
    assert restarted.save_many([(room, 4)], now=1070.0) == [None]
    assert activity_of(store, room) == 1070.0
    assert isinstance(restarted.save_many([(room, 4)], now=1080.0)[0], StaleRoomError)


def test_saves_leave_the_wal_to_the_background_checkpoint(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/store.db")
    try:
        upgrade_to_head(engine)
        store = RoomStore(engine)
        room = new_room()
        store.create(room)
        for version in range(2, 1_300):  # a page or more each: past SQLite's own 1,000 pages
            room.version = version
            assert store.save_many([(room, version - 1)]) == [None]
        done = store.checkpoint()
        assert not done.busy and done.frames > 1_300 and done.backfilled == done.frames
        assert store.checkpoint().backfilled == done.frames  # nothing new: nothing to copy
        loaded = store.load(room.id)
        assert loaded is not None and loaded.version == 1_299
        store.close()
    finally:
        engine.dispose()


def test_a_single_save_is_one_sqlite_statement_and_a_batch_stays_one_transaction(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/store.db")
    try:
        upgrade_to_head(engine)
        store = RoomStore(engine)
        first, second = new_room(), new_room()
        store.create(first)
        store.create(second)
        first.version = 2
        assert store.save_many([(first, 1)]) == [None]  # opens the writer's connection
        assert store._writer is not None  # noqa: SLF001 - the connection the saves go through
        statements: list[str] = []
        store._writer.driver_connection.set_trace_callback(statements.append)  # type: ignore[union-attr]  # noqa: SLF001
        first.version = 3
        assert store.save_many([(first, 2)]) == [None]
        assert [s.split()[0] for s in statements] == ["UPDATE"]  # no BEGIN, no COMMIT
        with engine.begin() as connection:  # the second room's write fails inside the batch
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE UPDATE ON rooms WHEN NEW.id = "
                f"'{second.id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        first.version, second.version = 4, 2
        with pytest.raises(StoreError):
            store.save_many([(first, 3), (second, 1)])
        loaded = store.load(first.id)
        assert loaded is not None and loaded.version == 3  # the whole batch was rolled back
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER refuse")
        first.version = 4
        assert store.save_many([(first, 3), (second, 1)]) == [None, None]
        writer = store._writer.driver_connection  # noqa: SLF001
        store.close()
        assert writer.isolation_level == ""  # back in the pool as SQLAlchemy hands it out
    finally:
        engine.dispose()
