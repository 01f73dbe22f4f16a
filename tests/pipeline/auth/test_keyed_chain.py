"""The audit chain keyed with a secret outside the database (issue 15, item 9).

Editing a row and recomputing the chain used to leave it "intact"; with the key, a rewrite by
someone who cannot read the key is found, and `kargo audit verify` says whether the key was used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from kargo.auth.chain import verify_chain
from kargo.auth.secretfiles import audit_key_path, load_audit_key
from kargo.store import GENESIS, Store, record_hash, schema
from kargo.store.auditchain import use_audit_key

from tests.pipeline.auth.test_audit_chain import write_records
from tests.pipeline.cli.conftest import kargo

KEY = bytes.fromhex("11" * 32)


@pytest.fixture
def keyed() -> Iterator[bytes]:
    """This process chains with KEY for the test, and unkeyed again after it."""
    use_audit_key(KEY)
    try:
        yield KEY
    finally:
        use_audit_key(None)


def rewrite_unkeyed(store: Store, record_id: int, **changes: str) -> None:
    """What someone who can write the database but not read the key can do: recompute it all."""
    audit = schema.audit
    with store.engine.begin() as connection:
        rows = connection.execute(sa.select(audit).order_by(audit.c.id)).mappings().all()
        previous = GENESIS
        for row in rows:
            fields = {**row, **(changes if row["id"] == record_id else {})}
            digest = record_hash(previous, fields, None)
            connection.execute(
                audit.update()
                .where(audit.c.id == row["id"])
                .values(
                    **changes if row["id"] == record_id else {}, prev_hash=previous, hash=digest
                )
            )
            previous = digest
        connection.execute(schema.audit_head.update().values(last_hash=previous))


def test_keyed_records_verify_with_the_key_and_say_so(store: Store, keyed: bytes) -> None:
    write_records(store, 3)
    report = verify_chain(store)
    assert report.ok and report.checked_with_key and report.keyed_records == 3
    assert "checked with the audit key" in report.message


def test_an_edited_and_recomputed_chain_is_found_with_the_key(store: Store, keyed: bytes) -> None:
    write_records(store, 4)
    rewrite_unkeyed(store, 2, actor="mallory")
    report = verify_chain(store)
    assert not report.ok and "rewritten without the key" in report.message
    assert verify_chain(store, None).ok  # without the key nothing tells: hence the key


def test_a_record_rehashed_with_another_key_is_found(store: Store, keyed: bytes) -> None:
    write_records(store, 3)
    audit = schema.audit
    with store.engine.begin() as connection:
        row = connection.execute(sa.select(audit).where(audit.c.id == 3)).mappings().one()
        forged = {**row, "result": "denied"}
        digest = record_hash(row["prev_hash"], forged, b"not the key")
        connection.execute(
            audit.update().where(audit.c.id == 3).values(result="denied", hash=digest)
        )
        connection.execute(schema.audit_head.update().values(last_hash=digest))
    report = verify_chain(store)
    assert not report.ok and report.broken_at == 3 and "keyed hash" in report.message


def test_without_the_key_only_the_links_are_checked_and_the_report_says_so(
    store: Store, keyed: bytes
) -> None:
    write_records(store, 2)
    report = verify_chain(store, None)
    assert report.ok and not report.checked_with_key and report.keyed_records == 2
    assert "checked without the audit key" in report.message


def test_kargo_audit_verify_offline_uses_the_state_folders_key(
    store: Store, keyed: bytes, tmp_path: Path
) -> None:
    write_records(store, 2)
    state = tmp_path / "offline-state"
    key_file = audit_key_path(state)
    key_file.parent.mkdir(parents=True)
    key_file.write_text(KEY.hex() + "\n")
    assert load_audit_key(key_file) == KEY
    ran = kargo("audit", "verify", "--database-url", store.url, "--state-dir", str(state))
    assert ran.code == 0 and "checked with the audit key (2 keyed)" in ran.out, ran
    bare = kargo("audit", "verify", "--database-url", store.url, "--state-dir", "/nonexistent")
    assert bare.code == 0 and "checked without the audit key" in bare.out, bare
    missing = kargo(
        "audit", "verify", "--database-url", store.url, "--audit-key", str(tmp_path / "nope")
    )
    assert missing.code == 1 and "does not exist" in missing.err


def test_a_new_key_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "audit.key"
    key = load_audit_key(path, create=True)
    assert key is not None and len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_audit_key(path, create=True) == key


def test_a_trail_from_before_the_key_is_marked_and_then_verifies_with_it(store: Store) -> None:
    from kargo.api.binding import mark_keyed_chain

    write_records(store, 2)  # unkeyed, as before the key existed
    use_audit_key(KEY)
    try:
        assert not verify_chain(store).ok  # its newest record is not keyed
        mark_keyed_chain(store)
        report = verify_chain(store)
        assert report.ok and report.records == 3 and report.keyed_records == 1
        mark_keyed_chain(store)  # once is enough
        assert verify_chain(store).records == 3
    finally:
        use_audit_key(None)
