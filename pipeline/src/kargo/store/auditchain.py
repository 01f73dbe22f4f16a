"""The audit trail's hash chain: each record's hash covers its fields and the previous hash.

A deleted, inserted or altered record breaks the chain from that point on; the head row
(`audit_head`) holds the newest hash and the count, so truncating the tail is detected too.

With an audit key (a secret kept outside the database, `use_audit_key`), each hash is an
HMAC-SHA256 written `hmac-sha256:<hex>`: someone who can edit the database but not read the key
cannot recompute the chain. Without one, the hash is a plain sha256, as records written before
a key existed are.
"""

from __future__ import annotations

import hashlib
import hmac
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


KEYED_PREFIX = "hmac-sha256:"
"""How a keyed record's hash starts."""


class _Configured:
    """Marker: use the key this process was given (`use_audit_key`)."""


CONFIGURED = _Configured()
_audit_key: bytes | None = None


def use_audit_key(key: bytes | None) -> None:
    """Key every record this process writes from now on (None: plain sha256)."""
    global _audit_key
    _audit_key = key


def configured_audit_key() -> bytes | None:
    """The key this process chains with, if any."""
    return _audit_key


def is_keyed(digest: str | None) -> bool:
    """Whether a stored hash was made with an audit key."""
    return bool(digest) and str(digest).startswith(KEYED_PREFIX)


def record_hash(
    previous: str, fields: dict[str, Any], key: bytes | None | _Configured = CONFIGURED
) -> str:
    """The hash of a record: over the previous hash and its fields in canonical JSON.

    HMAC-SHA256 with the audit key (prefixed `hmac-sha256:`), else plain sha256.
    """
    body = {name: fields.get(name) for name in CHAINED_FIELDS}
    body["time"] = _canonical_time(body["time"])
    text = json.dumps([previous, body], sort_keys=True, separators=(",", ":")).encode("utf-8")
    secret = _audit_key if isinstance(key, _Configured) else key
    if secret:
        return KEYED_PREFIX + hmac.new(secret, text, hashlib.sha256).hexdigest()
    return hashlib.sha256(text).hexdigest()
