"""The local secret store: Kubernetes `Secret` documents kept per project in a 0600 file.

Kargo reads repository credentials from Secrets labelled `kargo.akuity.io/cred-type` (`git`,
`image`, `helm`, `generic`) in the project's namespace. Here those documents, given in a
configuration folder, are kept as `<state>/secrets/<project>/<name>/<key>` (folders 0700, one
0600 file per key: the layout the `secret()` expression function reads), their labels under
`<state>/secret-labels/<project>/<name>.json`.
Values are only read by the steps and subscriptions that need them: no command, log line, event
or API answer shows them; `describe` returns names, types and key names only.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import uuid
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


def _folder(state_dir: Path, project: str) -> Path:
    return state_dir / "secrets" / project


def _labels_file(state_dir: Path, project: str, name: str) -> Path:
    return state_dir / "secret-labels" / project / f"{name}.json"


def _private_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def save_secret(state_dir: Path, project: str, secret: StoredSecret) -> None:
    """Add or replace a secret: one 0600 file per key (as `secret()` reads), labels beside."""
    if "/" in secret.name or secret.name.startswith("."):
        raise SecretError(f"metadata.name: {secret.name!r} is not a valid secret name")
    for parent in (state_dir / "secrets", _folder(state_dir, project)):
        _private_folder(parent)
    temporary = _folder(state_dir, project) / f".{secret.name}.{uuid.uuid4().hex[:8]}"
    _private_folder(temporary)
    for key, value in secret.data.items():
        if "/" in key or key.startswith("."):
            shutil.rmtree(temporary)
            raise SecretError(f"data: {key!r} is not a valid key name")
        _write_private(temporary / key, value)
    target = _folder(state_dir, project) / secret.name
    if target.exists():
        shutil.rmtree(target)
    temporary.rename(target)
    labels = _labels_file(state_dir, project, secret.name)
    for parent in (state_dir / "secret-labels", labels.parent):
        _private_folder(parent)
    _write_private(labels, json.dumps(secret.labels, sort_keys=True))


def secrets(state_dir: Path, project: str) -> list[StoredSecret]:
    """Every secret of a project."""
    folder = _folder(state_dir, project)
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir()):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        data = {
            f.name: f.read_text(encoding="utf-8") for f in sorted(entry.iterdir()) if f.is_file()
        }
        labels_path = _labels_file(state_dir, project, entry.name)
        labels = json.loads(labels_path.read_text(encoding="utf-8")) if labels_path.exists() else {}
        found.append(StoredSecret(entry.name, dict(labels), data))
    return found


def describe(state_dir: Path, project: str) -> list[dict[str, Any]]:
    """What may be shown of a project's secrets: names, cred types and key names, no values."""
    return [
        {"name": s.name, "credType": s.cred_type, "keys": sorted(s.data)}
        for s in secrets(state_dir, project)
    ]
