"""The room store: one JSON document per room with a version for optimistic concurrency.

SQLite by default, PostgreSQL by URL. Every driver error is wrapped in StoreError here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from planning_poker.errors import StaleRoomError, StoreError
from planning_poker.rooms import Room
from planning_poker.views import room_from_doc, room_to_doc

metadata = sa.MetaData()

rooms_table = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_activity_at", sa.Float, nullable=False, index=True),
)


# The group commit's statement, in the driver's own parameter style: it skips SQLAlchemy's
# per-statement work, which costs more than the UPDATE itself (about 140 us against 80 us).
_SAVE_SQL = (
    "UPDATE rooms SET name = {p}, document = {p}, version = {p}, last_activity_at = {p} "
    "WHERE id = {p} AND version = {p}"
)


# A save that leaves last_activity_at as it is: the column is indexed, so writing it costs a
# second page per commit, and only the expiry of rooms idle for days reads it. A store rewrites
# it once what it last wrote for the room is ACTIVITY_STEP_SECONDS old.
_SAVE_KEEPING_ACTIVITY_SQL = (
    "UPDATE rooms SET name = {p}, document = {p}, version = {p} WHERE id = {p} AND version = {p}"
)
ACTIVITY_STEP_SECONDS = 60.0
# The app checkpoints SQLite's WAL from its background task (`RoomStore.checkpoint`), off the
# vote path; a commit checkpoints by itself only once the WAL has grown to this many pages
# (40 MiB: the background fell behind, or no app runs it). SQLite's default is 1,000 pages.
SAFETY_CHECKPOINT_PAGES = 10_000


class Checkpoint(NamedTuple):
    """What a WAL checkpoint found and did, as SQLite reports it."""

    busy: bool  # it could not finish: a reader or writer held on to the WAL
    frames: int  # pages in the WAL
    backfilled: int  # of those, the pages now in the database file


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout for SQLite."""
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=8
            )
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StoreError(f"cannot use database URL: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_CHECKPOINT_PAGES}")
    cursor.close()


def encode_document(room: Room) -> str:
    """The room's stored document as JSON text."""
    return orjson.dumps(room_to_doc(room)).decode()


class RoomStore:
    """Load and save rooms."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.local = engine.dialect.name == "sqlite"  # a file on this machine: no network waits
        self._writer: PoolProxiedConnection | None = None
        self._driver: sqlite3.Connection | None = None  # the writer's, looked up once
        self._pool_isolation: Any = None  # its transaction mode in the pool, given back on close
        marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._save_sql = _SAVE_SQL.format(p=marker)
        self._save_keeping_activity_sql = _SAVE_KEEPING_ACTIVITY_SQL.format(p=marker)
        self._activity_written: dict[str, float] = {}  # room id: last_activity_at written
        self._activity_limit = 1024  # entries before the stale ones are forgotten

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except StaleRoomError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {type(exc).__name__}") from exc

    def create(self, room: Room, now: float | None = None) -> None:
        """Insert a new room at version 1."""
        now = time.time() if now is None else now
        room.version = 1
        try:
            with self._begin() as connection:
                connection.execute(
                    rooms_table.insert().values(
                        id=room.id,
                        name=room.name,
                        document=room_to_doc(room),
                        version=1,
                        created_at=room.created_at,
                        last_activity_at=now,
                    )
                )
            self._activity_written[room.id] = now
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StaleRoomError(f"room {room.id} exists already") from exc
            raise

    def load(self, room_id: str) -> Room | None:
        """The stored room, or None."""
        with self._begin() as connection:
            row = connection.execute(
                sa.select(rooms_table.c.document, rooms_table.c.version).where(
                    rooms_table.c.id == room_id
                )
            ).first()
        if row is None:
            return None
        return room_from_doc(row.document, row.version)

    def save(self, room: Room, expected_version: int, now: float | None = None) -> None:
        """Write the room (already at its new version) if it is still at expected_version."""
        now = time.time() if now is None else now
        with self._begin() as connection:
            result = connection.execute(
                rooms_table.update()
                .where(rooms_table.c.id == room.id, rooms_table.c.version == expected_version)
                .values(
                    name=room.name,
                    document=room_to_doc(room),
                    version=room.version,
                    last_activity_at=now,
                )
            )
            if result.rowcount != 1:
                raise StaleRoomError(f"room {room.id} changed since version {expected_version}")
        self._activity_written[room.id] = now

    def save_many(
        self,
        saves: Sequence[tuple[Room, int]],
        now: float | None = None,
        documents: Sequence[str] | None = None,
    ) -> list[StaleRoomError | None]:
        """Write several rooms in one transaction (a group commit); per save, None or stale.

        `documents` are the rooms' `encode_document`s when the caller has them already. A
        stale room does not stop the others; a database error fails them all (StoreError).
        The rows are written in room id order: instances committing batches of the same rooms
        at once take the row locks in one order, so they wait for each other, never deadlock.
        """
        now = time.time() if now is None else now
        order: Sequence[int] = range(len(saves))
        if len(saves) > 1:
            order = sorted(order, key=lambda index: saves[index][0].id)
        rows = [
            (
                saves[index][0].name,
                documents[index] if documents is not None else encode_document(saves[index][0]),
                saves[index][0].version,
                now,
                saves[index][0].id,
                saves[index][1],
            )
            for index in order
        ]
        self._forget_stale_activity(now)
        statements = [self._statement_for(row) for row in rows]
        if self.local:
            counts = self._write_sqlite(statements)
        else:
            with self._begin() as connection:
                counts = [connection.exec_driver_sql(sql, row).rowcount for sql, row in statements]
        outcomes: list[StaleRoomError | None] = [None] * len(saves)
        for index, row, count in zip(order, rows, counts, strict=True):
            if count != 1:
                outcomes[index] = StaleRoomError(f"room {row[4]} changed since version {row[5]}")
        return outcomes

    def _statement_for(self, row: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """The UPDATE for a save's row: with last_activity_at only when it is due."""
        name, document, version, now, room_id, expected = row
        written = self._activity_written.get(room_id)
        if written is not None and now - written < ACTIVITY_STEP_SECONDS:
            return self._save_keeping_activity_sql, (name, document, version, room_id, expected)
        self._activity_written[room_id] = now
        return self._save_sql, row

    def _forget_stale_activity(self, now: float) -> None:
        """Drop the entries a save would rewrite anyway: the map holds only recent rooms."""
        if len(self._activity_written) > self._activity_limit:
            self._activity_written = {
                room_id: written
                for room_id, written in self._activity_written.items()
                if now - written < ACTIVITY_STEP_SECONDS
            }
            self._activity_limit = max(1024, 2 * len(self._activity_written))

    def checkpoint(self) -> Checkpoint:
        """Copy the WAL's committed pages into the SQLite file without blocking anyone."""
        with self._begin() as connection:
            busy, frames, backfilled = connection.exec_driver_sql(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).one()
        return Checkpoint(bool(busy), int(frames), int(backfilled))

    def _write_sqlite(self, rows: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """The UPDATEs on one long-lived sqlite3 connection: no pool, no statement pipeline.

        The connection is in autocommit mode: one UPDATE (a paced vote's save) is a transaction
        of its own, one step of SQLite instead of three (BEGIN, UPDATE, COMMIT); several are
        wrapped in BEGIN and COMMIT.
        """
        try:
            driver = self._driver
            if driver is None:
                self._writer = self.engine.raw_connection()
                driver = self._driver = cast(sqlite3.Connection, self._writer.driver_connection)
                self._pool_isolation = driver.isolation_level
                driver.isolation_level = None
            if len(rows) == 1:
                sql, row = rows[0]
                return [driver.execute(sql, row).rowcount]
            driver.execute("BEGIN")
            try:
                counts = [driver.execute(sql, row).rowcount for sql, row in rows]
                driver.execute("COMMIT")
            except BaseException:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                raise
            return counts
        except (sqlite3.Error, SQLAlchemyError) as exc:
            if self._writer is not None:
                self._writer.invalidate()
                self._writer = self._driver = None
            raise StoreError(f"database error: {type(exc).__name__}") from exc

    def close(self) -> None:
        """Give back the connection the SQLite writer holds, in the pool's transaction mode."""
        if self._writer is not None and self._driver is not None:
            self._driver.isolation_level = self._pool_isolation
            self._writer.close()
            self._writer = self._driver = None

    def delete_expired(self, idle_seconds: float, now: float | None = None) -> int:
        """Delete rooms idle for longer than idle_seconds; how many went."""
        now = time.time() if now is None else now
        with self._begin() as connection:
            result = connection.execute(
                rooms_table.delete().where(rooms_table.c.last_activity_at < now - idle_seconds)
            )
        return int(result.rowcount)

    def count(self) -> int:
        """How many rooms are stored."""
        with self._begin() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(rooms_table)).scalar_one()
            )
