"""Secrets read at send time, and Standard Webhooks signatures (two while a secret rotates).

Secret values live only in memory for the duration of one request; they are never stored,
logged, or put in an error message (messages name the env variable or file instead).
"""

from __future__ import annotations

import base64
import os
import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from kargo.model.webhooks import SecretSource, WebhookConfig

SECRET_PREFIX = "whsec_"


class SecretUnavailable(Exception):
    """A secret named by a WebhookConfig cannot be read; fixing the config is the way out."""


def generate_secret() -> str:
    """A new `whsec_` secret (24 random bytes, base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def read_secret(source: SecretSource, base_dir: Path | None = None) -> str:
    """The value behind an env variable or a file.

    base_dir is the secrets folder: a relative file is read from it, and no file outside it is
    read at all (a WebhookConfig cannot send the admin token or another file anywhere).
    """
    if source.env is not None:
        value = os.environ.get(source.env)
        if not value:
            raise SecretUnavailable(f"environment variable {source.env} is not set")
        return value.strip()
    assert source.file is not None
    path = Path(source.file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if base_dir is not None and not path.resolve().is_relative_to(base_dir.resolve()):
        raise SecretUnavailable(
            f"secret file {source.file} is outside the secrets folder {base_dir}: "
            "keep webhook secrets there"
        )
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretUnavailable(f"cannot read secret file {path}: {exc.strerror}") from exc
    if not value:
        raise SecretUnavailable(f"secret file {path} is empty")
    return value


def target_url(config: WebhookConfig, base_dir: Path | None) -> str:
    """Where to POST: `urlFrom` read now (same scheme and host as `url`), else `url`."""
    source = config.spec.url_from
    if source is None:
        return config.spec.url
    url = read_secret(source, base_dir)
    shown, real = urlsplit(config.spec.url), urlsplit(url)
    if (real.scheme, real.hostname) != (shown.scheme, shown.hostname):
        raise SecretUnavailable(
            f"the URL in {source.describe()} does not go to {shown.scheme}://{shown.hostname} "
            "as `url` says"
        )
    return url


def _webhook(secret: str, where: str) -> Webhook:
    if not secret.startswith(SECRET_PREFIX):
        raise SecretUnavailable(f"the secret in {where} must start with {SECRET_PREFIX}")
    try:
        return Webhook(secret)
    except Exception as exc:  # the library raises bare errors for bad base64
        raise SecretUnavailable(f"the secret in {where} is not valid base64") from exc


def signature_header(
    config: WebhookConfig, message_id: str, moment: datetime, body: str, base_dir: Path | None
) -> str | None:
    """`v1,<sig>` (space-separated pair during rotation), or None for an unsigned webhook."""
    ref = config.spec.secret_ref
    if ref is None:
        return None
    sources: list[SecretSource] = [ref]
    if ref.previous is not None:
        sources.append(ref.previous)
    signatures = []
    for source in sources:
        signer = _webhook(read_secret(source, base_dir), source.describe())
        signatures.append(signer.sign(msg_id=message_id, timestamp=moment, data=body))
    return " ".join(signatures)


def request_headers(
    config: WebhookConfig, message_id: str, moment: datetime, body: str, base_dir: Path | None
) -> dict[str, str]:
    """Every header of one attempt: content type, Standard Webhooks headers, configured extras."""
    headers = {
        "content-type": "application/json",
        "user-agent": "kargo-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
    }
    signature = signature_header(config, message_id, moment, body, base_dir)
    if signature is not None:
        headers["webhook-signature"] = signature
    for header in config.spec.headers:
        if header.value_from is not None:
            headers[header.name.lower()] = read_secret(header.value_from, base_dir)
        elif header.value is not None:
            headers[header.name.lower()] = header.value
    return headers
