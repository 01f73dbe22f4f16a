"""The local secret store: Kubernetes `Secret` documents kept per project in a 0600 file.

Kargo reads repository credentials from Secrets labelled `kargo.akuity.io/cred-type` (`git`,
`image`, `helm`, `generic`) in the project's namespace. Here those documents, given in a
configuration folder, are kept under `<state>/secrets/<project>.json` (folder 0700, file 0600).
Values are only read by the steps and subscriptions that need them: no command, log line, event
or API answer shows them; `describe` returns names, types and key names only.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CRED_TYPE_LABEL = "kargo.akuity.io/cred-type"
CRED_TYPES = ("git", "image", "helm", "generic")


class SecretError(ValueError):
    """A Secret document is malformed (the message names the field, never a value)."""


@dataclass(frozen=True)
class StoredSecret:
    """A Secret's name, labels and decoded string data."""

    name: str
    labels: dict[str, str]
    data: dict[str, str]

    @property
    def cred_type(self) -> str:
        """The `kargo.akuity.io/cred-type` label, or empty."""
        return self.labels.get(CRED_TYPE_LABEL, "")


def parse_secret(document: dict[str, Any]) -> tuple[str, StoredSecret]:
    """(namespace, secret) from a `kind: Secret` document; `data` is base64, `stringData` text."""
    meta = document.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise SecretError("metadata.name: required field is missing")
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    kind = labels.get(CRED_TYPE_LABEL)
    if kind is not None and kind not in CRED_TYPES:
        raise SecretError(
            f"metadata.labels.{CRED_TYPE_LABEL}: expected one of {', '.join(CRED_TYPES)}"
        )
    data: dict[str, str] = {}
    for key, value in (document.get("data") or {}).items():
        try:
            data[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise SecretError(f"data.{key}: not base64-encoded text") from exc
    for key, value in (document.get("stringData") or {}).items():
        data[str(key)] = str(value)
    return str(meta.get("namespace") or ""), StoredSecret(name, labels, data)


def _file(state_dir: Path, project: str) -> Path:
    return state_dir / "secrets" / f"{project}.json"


def _read(state_dir: Path, project: str) -> dict[str, Any]:
    path = _file(state_dir, project)
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def save_secret(state_dir: Path, project: str, secret: StoredSecret) -> None:
    """Add or replace a secret in the project's store (written atomically, mode 0600)."""
    folder = state_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    entries = _read(state_dir, project)
    entries[secret.name] = {"labels": secret.labels, "data": secret.data}
    temporary = folder / f".{project}.json.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(entries, handle, sort_keys=True)
    os.chmod(temporary, 0o600)
    temporary.replace(_file(state_dir, project))


def secrets(state_dir: Path, project: str) -> list[StoredSecret]:
    """Every secret of a project."""
    return [
        StoredSecret(name, dict(entry.get("labels", {})), dict(entry.get("data", {})))
        for name, entry in sorted(_read(state_dir, project).items())
    ]


def describe(state_dir: Path, project: str) -> list[dict[str, Any]]:
    """What may be shown of a project's secrets: names, cred types and key names, no values."""
    return [
        {"name": s.name, "credType": s.cred_type, "keys": sorted(s.data)}
        for s in secrets(state_dir, project)
    ]
