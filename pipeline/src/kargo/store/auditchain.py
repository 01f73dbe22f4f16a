"""The audit trail's hash chain: each record's hash covers its fields and the previous hash.

A deleted, inserted or altered record breaks the chain from that point on; the head row
(`audit_head`) holds the newest hash and the count, so truncating the tail is detected too.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""The `prev_hash` of the first record."""

CHAINED_FIELDS = (
    "project",
    "actor",
    "action",
    "resource",
    "phase_before",
    "phase_after",
    "source",
    "address",
    "time",
    "result",
)

source_address: ContextVar[str | None] = ContextVar("kargo_source_address", default=None)
"""The client address of the request being served; audit records written under it carry it."""


def _canonical_time(value: Any) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    return str(value)


def record_hash(previous: str, fields: dict[str, Any]) -> str:
    """sha256 over the previous hash and the record's fields in a canonical JSON form."""
    body = {name: fields.get(name) for name in CHAINED_FIELDS}
    body["time"] = _canonical_time(body["time"])
    text = json.dumps([previous, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
