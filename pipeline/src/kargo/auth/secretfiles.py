"""The server's secrets folder and the audit key kept in it, outside the database.

`$KARGO_SECRETS_DIR`, else `<state-dir>/secrets` (0700): analysis secrets (`<name>/<key>`),
webhook secret files, the checks service's token and `audit.key`, the HMAC key of the audit
chain. Whoever can read this folder can forge the chain; whoever can only write the database
cannot.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRETS_DIR_ENV = "KARGO_SECRETS_DIR"
AUDIT_KEY_FILE = "audit.key"


class AuditKeyError(Exception):
    """The audit key file cannot be read or written; the message names it."""


def secrets_dir(state_dir: Path) -> Path:
    """Where secret files live: $KARGO_SECRETS_DIR, else <state-dir>/secrets."""
    configured = os.environ.get(SECRETS_DIR_ENV)
    return Path(configured) if configured else state_dir / "secrets"


def audit_key_path(state_dir: Path) -> Path:
    """The audit key file of a state folder."""
    return secrets_dir(state_dir) / AUDIT_KEY_FILE


def load_audit_key(path: Path, create: bool = False) -> bytes | None:
    """The key in path (hex); with create, a new 256-bit key is written there (0600) if absent."""
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another server of the same state folder made it first
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditKeyError(f"cannot read the audit key {path}: {exc.strerror}") from exc
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise AuditKeyError(f"the audit key {path} is not hex") from exc
