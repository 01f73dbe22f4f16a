"""The change feed: on PostgreSQL, one store hears the changes another process's store commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from kargo.store import Change, ChangeType, Store
from kargo.store.feed import PAYLOAD_LIMIT, notices

from tests.pipeline.databases import temporary_postgres_url
from tests.pipeline.store.test_store import stage_body

pytestmark = pytest.mark.postgres


class Heard:
    """A watcher that records every change it hears."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self._lock = threading.Lock()

    def __call__(self, changes: list[Change]) -> None:
        with self._lock:
            self.changes.extend(changes)

    def named(self, name: str) -> list[Change]:
        with self._lock:
            return [c for c in self.changes if c.name == name]

    def wait_for(self, name: str, count: int = 1, timeout: float = 10.0) -> list[Change]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(found := self.named(name)) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"heard {self.named(name)} for {name}, wanted {count} change(s)")


@pytest.fixture
def two_stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two stores on one PostgreSQL database, as two servers would have."""
    with temporary_postgres_url("feed") as url:
        first = Store.open(url, tmp_path / "a")
        second = Store.open(url, tmp_path / "b")
        try:
            yield first, second
        finally:
            first.close()
            second.close()


def test_a_change_committed_by_one_store_reaches_the_other_with_its_body(
    two_stores: tuple[Store, Store],
) -> None:
    writer, reader = two_stores
    heard_here, heard_there = Heard(), Heard()
    writer.watch(heard_here)
    reader.watch(heard_there)
    with writer.transaction() as tx:
        tx.create(stage_body("dev"))
    change = heard_there.wait_for("dev")[0]
    assert change.type is ChangeType.ADDED
    assert change.kind == "Stage" and change.project == "shop"
    assert change.body["spec"] == stage_body("dev")["spec"]
    assert change.body["metadata"]["resourceVersion"] == "1"
    with writer.transaction() as tx:
        tx.delete("Stage", "shop", "dev")
    assert heard_there.wait_for("dev", 2)[1].type is ChangeType.DELETED
    time.sleep(0.3)
    # The writer heard its own changes once each, at commit, not again through the feed.
    assert [c.type for c in heard_here.named("dev")] == [ChangeType.ADDED, ChangeType.DELETED]


def test_a_rolled_back_transaction_announces_nothing(two_stores: tuple[Store, Store]) -> None:
    writer, reader = two_stores
    heard = Heard()
    reader.watch(heard)
    with pytest.raises(RuntimeError), writer.transaction() as tx:
        tx.create(stage_body("ghost"))
        raise RuntimeError("abandon")
    with writer.transaction() as tx:
        tx.create(stage_body("real"))
    heard.wait_for("real")
    assert heard.named("ghost") == []


def test_a_large_batch_is_split_under_the_notice_limit_and_arrives_whole(
    two_stores: tuple[Store, Store],
) -> None:
    writer, reader = two_stores
    heard = Heard()
    reader.watch(heard)
    names = [f"stage-{n:03d}-{'x' * 60}" for n in range(300)]
    with writer.transaction() as tx:
        for name in names:
            tx.create(stage_body(name))
    assert len(notices("o", [Change(ChangeType.ADDED, "Stage", "shop", n, {}) for n in names])) > 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(heard.changes) < len(names):
        time.sleep(0.05)
    assert sorted(c.name for c in heard.changes) == names
    assert all(len(p) < PAYLOAD_LIMIT + 100 for p in notices("o", heard.changes))


def test_a_lost_listening_connection_is_reopened_and_resources_are_re_announced(
    two_stores: tuple[Store, Store],
) -> None:
    writer, reader = two_stores
    heard = Heard()
    reader.watch(heard)
    with writer.transaction() as tx:
        tx.create(stage_body("before"))
    heard.wait_for("before")
    with writer.engine.connect() as connection:
        killed = connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            )
        ).all()
    assert killed, "the listening connection was not found"
    # After reconnecting, the feed re-announces what exists (a gap may have hidden changes).
    resynced: list[Any] = heard.wait_for("before", 2)
    assert resynced[1].type is ChangeType.MODIFIED
    with writer.transaction() as tx:
        tx.create(stage_body("after"))
    heard.wait_for("after")
