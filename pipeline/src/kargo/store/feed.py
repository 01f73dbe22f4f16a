"""Change feed between processes on PostgreSQL: NOTIFY on commit, LISTEN in a thread.

Each write transaction that changed resources sends `pg_notify` inside the transaction, so the
notice goes out exactly when the change commits. Every store on the database listens on its own
connection and hands other processes' changes to its watchers, re-reading each body, so watchers
see the same `Change` objects as for local writes. A lost listening connection is re-opened, and
the resources are then re-announced as MODIFIED (as a Kubernetes watch re-lists after a gap).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg
import sqlalchemy as sa

from kargo.store.documents import Change, ChangeType

log = logging.getLogger(__name__)

CHANNEL = "kargo_changes"
PAYLOAD_LIMIT = 7000  # PostgreSQL refuses notices of 8000 bytes or more
RESYNC_KINDS = ("ProjectConfig", "Warehouse", "Freight", "Stage", "Promotion")

Deliver = Callable[[list[Change]], None]
Fetch = Callable[[str, str, str], "dict[str, Any] | None"]
ListKind = Callable[[str], "list[dict[str, Any]]"]


def notices(origin: str, changes: Iterable[Change]) -> list[str]:
    """The payloads announcing `changes`, each under PostgreSQL's size limit."""
    payloads: list[str] = []
    batch: list[list[str]] = []
    size = 0
    for change in changes:
        item = [change.type.value, change.kind, change.project, change.name]
        item_size = len(json.dumps(item))
        if batch and size + item_size > PAYLOAD_LIMIT:
            payloads.append(json.dumps({"o": origin, "c": batch}))
            batch, size = [], 0
        batch.append(item)
        size += item_size + 1
    if batch:
        payloads.append(json.dumps({"o": origin, "c": batch}))
    return payloads


def publish(connection: sa.Connection, origin: str, changes: list[Change]) -> None:
    """Queue the notices in the caller's transaction; PostgreSQL sends them on commit."""
    for payload in notices(origin, changes):
        connection.exec_driver_sql("SELECT pg_notify(%(channel)s, %(payload)s)",
                                   {"channel": CHANNEL, "payload": payload})  # fmt: skip


def listener_conninfo(url: str) -> str:
    """The libpq address of a SQLAlchemy PostgreSQL URL."""
    parsed = sa.make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


class ChangeFeed:
    """Hears other processes' committed changes and hands them to `deliver`."""

    def __init__(
        self, url: str, origin: str, deliver: Deliver, fetch: Fetch, list_kind: ListKind
    ) -> None:
        self.conninfo = listener_conninfo(url)
        self.origin = origin
        self._deliver = deliver
        self._fetch = fetch
        self._list_kind = list_kind
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, wait: float = 5.0) -> None:
        """Start listening (once); return when the first LISTEN is in place."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kargo-change-feed", daemon=True)
        self._thread.start()
        self._listening.wait(wait)

    def stop(self) -> None:
        """Stop listening and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if not first:
                        self._resync()
                    first = False
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=0.5):
                            self._receive(notice.payload)
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                log.warning("change feed: lost the listening connection (%s); reconnecting", exc)
                self._listening.set()  # never keep start() waiting on a database that is down
                self._stop.wait(1.0)

    def _receive(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("change feed: ignored a notice that is not JSON: %.80s", payload)
            return
        if message.get("o") == self.origin:
            return  # our own writes were delivered when they committed
        changes = [c for c in (self._change(*item) for item in message.get("c", [])) if c]
        if changes:
            self._deliver(changes)

    def _change(self, type_: str, kind: str, project: str, name: str) -> Change | None:
        change_type = ChangeType(type_)
        if change_type is ChangeType.DELETED:
            meta = {"name": name, "namespace": project} if project else {"name": name}
            return Change(change_type, kind, project, name, {"kind": kind, "metadata": meta})
        body = self._fetch(kind, project, name)
        if body is None:
            return None  # deleted since; its DELETED notice follows
        return Change(change_type, kind, project, name, body)

    def _resync(self) -> None:
        """After a gap: announce every resource the engine reconciles as MODIFIED."""
        started = time.monotonic()
        changes = [
            Change(
                ChangeType.MODIFIED,
                kind,
                body["metadata"].get("namespace") or "",
                body["metadata"]["name"],
                body,
            )
            for kind in RESYNC_KINDS
            for body in self._list_kind(kind)
        ]
        if changes:
            self._deliver(changes)
        log.info("change feed: re-announced %d resources in %.2fs", len(changes),
                 time.monotonic() - started)  # fmt: skip
