"""`kargo audit verify`: recompute the audit trail's hash chain and report the first break."""

from __future__ import annotations

from kargo.model.outcomes import ChainReport
from kargo.store import GENESIS, Store, record_hash
from kargo.store.auditchain import CONFIGURED, configured_audit_key, is_keyed
from kargo.store.documents import AuditRecord


def _fields(record: AuditRecord) -> dict[str, object]:
    return {
        "project": record.project,
        "actor": record.actor,
        "action": record.action,
        "resource": record.resource,
        "phase_before": record.phase_before,
        "phase_after": record.phase_after,
        "source": record.source,
        "address": record.address,
        "time": record.time,
        "result": record.result,
    }


def verify_chain(store: Store, key: bytes | None | object = CONFIGURED) -> ChainReport:
    """Walk every record oldest first; any altered, removed or inserted record breaks the chain.

    Keyed records are authenticated with the audit key (this process's, unless given); without
    it only their links are checked, and the report says so.
    """
    secret = configured_audit_key() if key is CONFIGURED else key
    assert secret is None or isinstance(secret, bytes)
    records = store.audit_records()
    previous = GENESIS
    keyed = 0

    def broken(record: AuditRecord, message: str) -> ChainReport:
        return _report(False, len(records), message, record.id, secret is not None, keyed)

    for record in records:
        if record.prev_hash != previous:
            return broken(
                record,
                f"record {record.id} does not follow the record before it: a record was "
                "removed or inserted before it",
            )
        if is_keyed(record.hash):
            keyed += 1
            if secret is not None and record.hash != record_hash(previous, _fields(record), secret):
                return broken(
                    record,
                    f"record {record.id} was altered after it was written (its keyed hash "
                    "does not match)",
                )
        elif keyed:
            return broken(
                record,
                f"record {record.id} is not keyed though records before it are: the chain "
                "was rewritten without the audit key",
            )
        elif record.hash != record_hash(previous, _fields(record), None):
            return broken(
                record,
                f"record {record.id} was altered after it was written (its hash does not match)",
            )
        previous = str(record.hash)
    if secret is not None and records and not is_keyed(records[-1].hash):
        return broken(
            records[-1],
            f"the newest record {records[-1].id} is not keyed though the audit key exists: "
            "the chain was rewritten without the key",
        )
    head = store.audit_head()
    count, last = (head[1], head[0]) if head is not None else (0, GENESIS)
    if count != len(records) or last != previous:
        message = (
            f"the trail holds {len(records)} records but {count} were written: the newest "
            "records were removed"
        )
        return _report(False, len(records), message, None, secret is not None, keyed)
    verdict = _verdict(len(records), keyed, secret is not None)
    return _report(True, len(records), verdict, None, secret is not None, keyed)


def _report(
    ok: bool, records: int, message: str, broken_at: int | None, with_key: bool, keyed: int
) -> ChainReport:
    """The report's fields, in the order the checks above know them."""
    return ChainReport(
        ok=ok,
        records=records,
        message=message,
        broken_at=broken_at,
        checked_with_key=with_key,
        keyed_records=keyed,
    )


def _verdict(records: int, keyed: int, with_key: bool) -> str:
    """What an intact chain proves, given the key was or was not used."""
    if with_key:
        return f"{records} records; checked with the audit key ({keyed} keyed)"
    if keyed:
        return (
            f"{records} records; links only: checked without the audit key, so the {keyed} "
            "keyed records' contents were not authenticated (give --audit-key FILE)"
        )
    return (
        f"{records} records; no record is keyed, so anyone able to write the database "
        "could have recomputed the chain"
    )
