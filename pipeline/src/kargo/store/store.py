"""The durable store: resource documents with resourceVersion, on SQLite (WAL) or PostgreSQL.

Calls are synchronous and short; async callers run them directly (SQLite) or in a thread.
Watchers are told of committed changes after each commit, in the committing thread; on
PostgreSQL, other processes' changes arrive through the change feed's thread (store/feed.py).
"""

from __future__ import annotations

import builtins
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from kargo.store import schema
from kargo.store.documents import AuditRecord, Change, EventFilter, StoredEvent, as_utc
from kargo.store.errors import StoreConflict, StoreError, StoreNotFound
from kargo.store.feed import ChangeFeed, publish
from kargo.store.migrating import upgrade_to_head
from kargo.store.transactions import Transaction

logger = logging.getLogger(__name__)

Watcher = Callable[[list[Change]], None]
BUSY_TIMEOUT_ENV = "KARGO_SQLITE_BUSY_TIMEOUT"  # seconds a write waits for another's lock


def sqlite_busy_timeout() -> float:
    """Seconds a SQLite write waits for a lock held elsewhere: KARGO_SQLITE_BUSY_TIMEOUT, or 30."""
    try:
        return max(0.0, float(os.environ.get(BUSY_TIMEOUT_ENV, "30")))
    except ValueError:
        logger.warning("%s is not a number of seconds; using 30", BUSY_TIMEOUT_ENV)
        return 30.0


def sqlite_url(state_dir: Path) -> str:
    """The default database: `kargo.db` in the state folder."""
    return f"sqlite+pysqlite:///{(state_dir / 'kargo.db').resolve()}"


def _create_engine(url: str) -> sa.Engine:
    if not url.startswith("sqlite"):
        # No pre-ping (a round trip per checkout); recycle instead, and errors become StoreError.
        return sa.create_engine(url, pool_recycle=300, pool_size=10, max_overflow=10)
    busy = sqlite_busy_timeout()
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": busy})

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE and SAVEPOINT work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # On the driver's connection: SQLAlchemy's statement machinery cost more than BEGIN.
        immediate = connection.get_execution_options().get("kargo_write", False)
        statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        driver = connection.connection.driver_connection
        try:
            driver.execute(statement)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc

    return engine


class Store:
    """Resources, events, audit and logs in one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        self._watchers: list[Watcher] = []
        self._lock = threading.Lock()
        self.origin = uuid.uuid4().hex
        self._feed: ChangeFeed | None = None

    @classmethod
    def open(cls, database_url: str | None, state_dir: Path) -> Store:
        """Open (and migrate) the database at the URL, or SQLite under the state folder."""
        if database_url is None:
            state_dir.mkdir(parents=True, exist_ok=True)
        store = cls(database_url or sqlite_url(state_dir))
        store.migrate()
        return store

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Apply pending migrations."""
        try:
            upgrade_to_head(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the database at {self._safe_url()}: {exc}") from exc

    def close(self) -> None:
        """Stop hearing other processes and release every connection."""
        if self._feed is not None:
            self._feed.stop()
            self._feed = None
        self.engine.dispose()

    def _safe_url(self) -> str:
        return sa.make_url(self.url).render_as_string(hide_password=True)

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call `watcher` with each committed batch of changes; returns an unsubscribe function."""
        with self._lock:
            self._watchers.append(watcher)
            start_feed = self.dialect == "postgresql" and self._feed is None
            if start_feed:
                self._feed = ChangeFeed(self.url, self.origin, self._notify, self.get, self.list)
        if start_feed and self._feed is not None:
            self._feed.start()  # other servers on this database: their changes reach us too

        def unsubscribe() -> None:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)

        return unsubscribe

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A write transaction; commits on exit, rolls back on error."""
        tx: Transaction | None = None
        try:
            with self.engine.connect().execution_options(kargo_write=True) as connection:
                with connection.begin():
                    tx = Transaction(connection)
                    yield tx
                    if tx.changes and self.dialect == "postgresql":
                        publish(connection, self.origin, tx.changes)
        except (StoreConflict, StoreNotFound):
            raise
        except SQLAlchemyError as exc:
            if _is_conflict(exc):
                raise StoreConflict(f"concurrent write: {exc.__class__.__name__}") from exc
            raise StoreError(f"database error at {self._safe_url()}: {exc}") from exc
        if tx is not None and tx.changes:
            self._notify(tx.changes)

    def _notify(self, changes: list[Change]) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for watcher in watchers:
            try:
                watcher(changes)
            except Exception:  # a broken watcher must not break writers
                logger.exception("a store watcher failed")

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"database error at {self._safe_url()}: {exc}") from exc

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """Several reads on one connection (a consistent snapshot); writes are not committed."""
        with self._reading() as connection:
            try:
                # Begun here: reads on the driver's cursor would not begin a transaction
                # themselves. Closing the connection rolls it back.
                connection.begin()
            except SQLAlchemyError as exc:
                raise StoreError(f"database error at {self._safe_url()}: {exc}") from exc
            yield Transaction(connection)

    def get(self, kind: str, project: str, name: str) -> dict[str, Any] | None:
        """One resource, or None."""
        with self._reading() as connection:
            return Transaction(connection).get(kind, project, name)

    def require(self, kind: str, project: str, name: str) -> dict[str, Any]:
        """One resource; StoreNotFound when absent."""
        body = self.get(kind, project, name)
        if body is None:
            raise StoreNotFound(f"{kind} {name!r} does not exist in project {project!r}")
        return body

    def list(self, kind: str, project: str | None = None) -> builtins.list[dict[str, Any]]:
        """All resources of a kind (in a project, when given), ordered by name."""
        c = schema.resources.c
        query = sa.select(c.body, c.resource_version).where(c.kind == kind)
        if project is not None:
            query = query.where(c.project == project)
        with self._reading() as connection:
            rows = connection.execute(query.order_by(c.project, c.name)).all()
        result = []
        for body, version in rows:
            doc = dict(body)
            doc["metadata"] = {**doc.get("metadata", {}), "resourceVersion": str(version)}
            result.append(doc)
        return result

    def projects(self) -> builtins.list[str]:
        """Every project that holds at least one resource."""
        c = schema.resources.c
        with self._reading() as connection:
            rows = connection.execute(
                sa.select(c.project).where(c.project != "").distinct().order_by(c.project)
            ).all()
        return [r[0] for r in rows]

    def events(
        self,
        project: str | None = None,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        where: EventFilter | None = None,
    ) -> builtins.list[StoredEvent]:
        """Event rows in commit order, after a sequence number."""
        c = schema.events.c
        query = sa.select(schema.events).where(c.seq > after_seq)
        if project is not None:
            query = query.where(c.project == project)
        for key, column in (("reason", c.reason), ("type", c.type)):
            if where is not None and key in where.equal:
                query = query.where(column == where.equal[key])
        query = query.order_by(c.seq)
        with self._reading() as connection:
            rows = connection.execute(query).mappings().all()
        result = [
            StoredEvent(
                seq=r["seq"],
                uid=r["uid"],
                project=r["project"],
                reason=r["reason"],
                type=r["type"],
                involved_kind=r["involved_kind"],
                involved_name=r["involved_name"],
                message=r["message"],
                data=dict(r["data"] or {}),
                created_at=as_utc(r["created_at"]),
            )
            for r in rows
        ]
        if where is not None:
            result = [e for e in result if where.matches(e)]
        return result[-limit:] if limit else result

    def audit_records(
        self,
        project: str | None = None,
        *,
        actor: str | None = None,
        since: datetime | None = None,
    ) -> builtins.list[AuditRecord]:
        """The audit trail, oldest first; optionally one project's, one actor's, or recent."""
        c = schema.audit.c
        query = sa.select(schema.audit).order_by(c.id)
        if project is not None:
            query = query.where(c.project == project)
        if actor is not None:
            query = query.where(c.actor == actor)
        if since is not None:
            query = query.where(c.time >= since)
        with self._reading() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            AuditRecord(
                project=r["project"],
                actor=r["actor"],
                action=r["action"],
                resource=r["resource"],
                phase_before=r["phase_before"],
                phase_after=r["phase_after"],
                source=r["source"],
                time=as_utc(r["time"]),
                result=r["result"],
                address=r["address"],
                id=r["id"],
                prev_hash=r["prev_hash"],
                hash=r["hash"],
            )
            for r in rows
        ]

    def audit_head(self) -> tuple[str, int] | None:
        """The newest chained hash and the number of chained records, if any were written."""
        c = schema.audit_head.c
        with self._reading() as connection:
            row = connection.execute(sa.select(c.last_hash, c.count).where(c.id == 1)).first()
        return (str(row[0]), int(row[1])) if row is not None else None

    def logs(
        self, project: str, promotion: str, after_id: int = 0
    ) -> builtins.list[tuple[int, str]]:
        """A promotion's log lines after an id, as (id, line)."""
        c = schema.promotion_logs.c
        with self._reading() as connection:
            rows = connection.execute(
                sa.select(c.id, c.line)
                .where(c.project == project, c.promotion == promotion, c.id > after_id)
                .order_by(c.id)
            ).all()
        return [(r[0], r[1]) for r in rows]


def _is_conflict(exc: SQLAlchemyError) -> bool:
    # Not SQLite's "database is locked": writes begin IMMEDIATE, so that error means the busy
    # timeout passed with another process holding the database; retrying would wait it out
    # again, eight times over. It is the database being unavailable (a StoreError, 503).
    text = str(exc).lower()
    return "could not serialize" in text or "deadlock" in text
