"""`kargo audit verify`: recompute the audit trail's hash chain and report the first break."""

from __future__ import annotations

from dataclasses import dataclass

from kargo.store import GENESIS, Store, record_hash
from kargo.store.documents import AuditRecord


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification."""

    ok: bool
    records: int
    message: str
    broken_at: int | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "ok": self.ok,
            "records": self.records,
            "message": self.message,
            "brokenAt": self.broken_at,
        }


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


def verify_chain(store: Store) -> ChainReport:
    """Walk every record oldest first; any altered, removed or inserted record breaks the chain."""
    records = store.audit_records()
    previous = GENESIS
    for record in records:
        if record.prev_hash != previous:
            return ChainReport(
                False,
                len(records),
                f"record {record.id} does not follow the record before it: a record was "
                "removed or inserted before it",
                record.id,
            )
        expected = record_hash(previous, _fields(record))
        if record.hash != expected:
            return ChainReport(
                False,
                len(records),
                f"record {record.id} was altered after it was written (its hash does not match)",
                record.id,
            )
        previous = expected
    head = store.audit_head()
    count, last = (head[1], head[0]) if head is not None else (0, GENESIS)
    if count != len(records) or last != previous:
        return ChainReport(
            False,
            len(records),
            f"the trail holds {len(records)} records but {count} were written: the newest "
            "records were removed",
        )
    return ChainReport(True, len(records), f"{len(records)} records, chain intact")
