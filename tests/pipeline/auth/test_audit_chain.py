"""The audit trail's hash chain on SQLite and PostgreSQL: an altered or removed record is found."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from kargo.auth.chain import verify_chain
from kargo.store import Store, schema

from tests.pipeline.cli.conftest import kargo


def write_records(store: Store, count: int) -> None:
    for number in range(count):
        with store.transaction() as tx:
            tx.audit(
                project="planning-poker",
                actor="alice",
                action="promote",
                resource=f"Promotion/p{number}",
                source="api",
                result="ok",
                phase_before="Pending",
                phase_after="Running",
                address="127.0.0.1",
            )


def test_an_untouched_trail_verifies(store: Store) -> None:
    write_records(store, 4)
    report = verify_chain(store)
    assert report.ok and report.records == 4, report


def test_kargo_audit_verify_detects_one_record_altered_in_the_database(store: Store) -> None:
    write_records(store, 5)
    ok = kargo("audit", "verify", "--database-url", store.url, "--state-dir", "/nonexistent")
    assert ok.code == 0 and "audit chain intact: 5 records" in ok.out, ok
    audit = schema.audit
    with store.engine.begin() as connection:
        connection.execute(audit.update().where(audit.c.id == 3).values(actor="mallory"))
    ran = kargo("audit", "verify", "--database-url", store.url, "--state-dir", "/nonexistent")
    assert ran.code == 1, ran
    assert "record 3 was altered" in ran.err
    assert verify_chain(store).broken_at == 3


def test_a_removed_record_in_the_middle_or_at_the_end_is_detected(store: Store) -> None:
    write_records(store, 4)
    audit = schema.audit
    with store.engine.begin() as connection:
        connection.execute(audit.delete().where(audit.c.id == 4))
    tail = verify_chain(store)
    assert not tail.ok and "newest records were removed" in tail.message
    with store.engine.begin() as connection:
        connection.execute(audit.delete().where(audit.c.id == 2))
    middle = verify_chain(store)
    assert not middle.ok and middle.broken_at == 3 and "removed or inserted" in middle.message


def test_a_record_rewritten_with_a_fresh_hash_still_breaks_the_next_link(store: Store) -> None:
    from kargo.store import record_hash

    write_records(store, 3)
    audit = schema.audit
    with store.engine.begin() as connection:
        row = connection.execute(sa.select(audit).where(audit.c.id == 2)).mappings().one()
        forged = {**row, "result": "denied"}
        connection.execute(
            audit.update()
            .where(audit.c.id == 2)
            .values(result="denied", hash=record_hash(row["prev_hash"], forged))
        )
    report = verify_chain(store)
    assert not report.ok and report.broken_at == 3


def test_the_migration_chains_records_written_before_it(tmp_path: Path) -> None:
    from alembic import command
    from kargo.store.migrating import alembic_config
    from kargo.store.store import sqlite_url

    engine = sa.create_engine(sqlite_url(tmp_path))
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0002_webhooks")
        for number in range(3):
            connection.execute(
                sa.text(
                    "INSERT INTO audit (project, actor, action, resource, source, time, result) "
                    "VALUES ('p', 'alice', 'promote', :r, 'api', :t, 'ok')"
                ),
                {"r": f"Promotion/p{number}", "t": f"2026-11-26 06:0{number}:00.000000"},
            )
    engine.dispose()
    store = Store.open(None, tmp_path)
    try:
        assert verify_chain(store).ok
        write_records(store, 1)
        report = verify_chain(store)
        assert report.ok and report.records == 4, report
    finally:
        store.close()


def test_concurrent_writers_keep_one_unbroken_chain(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from kargo.store import StoreConflict

    def writer(number: int) -> None:
        for attempt in range(20):
            try:
                write_records(store, 1)
                return
            except StoreConflict:  # SQLite's busy writer or a PostgreSQL retry: try again
                if attempt == 19:
                    raise

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(writer, range(24)))
    report = verify_chain(store)
    assert report.ok and report.records == 24, report
