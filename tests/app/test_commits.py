"""Group commit on SQLite: a lone save written at once, saves made together in one transaction."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import uvloop
from planning_poker.commits import GroupCommit
from planning_poker.decks import DeckKind, cards_for
from planning_poker.errors import StaleRoomError
from planning_poker.rooms import Room, new_id
from planning_poker.store import encode_document

from tests.app.test_hub import FlakyStore, _store


def _rooms(tmp_path: Path, count: int) -> tuple[FlakyStore, list[Room]]:
    store, first = _store(tmp_path)
    rooms = [first]
    for number in range(1, count):
        room = Room(
            new_id(12), f"R{number}", DeckKind.FIBONACCI, cards_for(DeckKind.FIBONACCI), 1.0
        )
        store.create(room)
        rooms.append(room)
    return store, rooms


def _next(room: Room) -> tuple[Room, int, str]:
    room.version += 1
    return room, room.version - 1, encode_document(room)


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_a_lone_save_is_committed_before_the_loop_turns(tmp_path: Path, run: Any) -> None:
    # Nothing else is ready, so nobody could join its batch: no deferred write, no wake-up.
    # uvloop (the server's loop) does not show what is ready: a save there is written at once.
    store, [room] = _rooms(tmp_path, 1)

    async def scenario() -> None:
        commits = GroupCommit(store, inline=True)
        saving = commits.save(*_next(room))
        with pytest.raises(StopIteration):
            saving.send(None)  # finished on its first step: it never waited for the loop

    run(scenario())
    stored = store.load(room.id)
    assert stored is not None and stored.version == room.version
    assert store.commits == 1


def test_saves_made_in_the_same_turn_share_one_transaction(tmp_path: Path) -> None:
    store, rooms = _rooms(tmp_path, 4)

    async def scenario() -> None:
        commits = GroupCommit(store, inline=True)
        await asyncio.gather(*(commits.save(*_next(room)) for room in rooms))

    asyncio.run(scenario())
    assert store.commits == 1
    for room in rooms:
        stored = store.load(room.id)
        assert stored is not None and stored.version == room.version


def test_a_stale_lone_save_is_refused_at_once(tmp_path: Path) -> None:
    store, [room] = _rooms(tmp_path, 1)
    room.version += 5  # as if another instance had moved on

    async def scenario() -> None:
        await GroupCommit(store, inline=True).save(room, room.version - 1, encode_document(room))

    with pytest.raises(StaleRoomError):
        asyncio.run(scenario())
