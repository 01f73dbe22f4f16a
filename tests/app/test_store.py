"""The room store on SQLite and PostgreSQL, migrations included."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from planning_poker.decks import DeckKind, cards_for
from planning_poker.errors import StaleRoomError
from planning_poker.migrating import migrations_current, upgrade_to_head
from planning_poker.participants import Role
from planning_poker.rooms import Room
from planning_poker.store import RoomStore, make_engine

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
