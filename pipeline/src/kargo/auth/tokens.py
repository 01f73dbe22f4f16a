"""API tokens: random, shown once, stored only as sha256 hashes, each with a role and an expiry.

A token carries 256 bits from `secrets`, so a fast hash is enough: nobody can guess a preimage,
and a slow KDF (bcrypt, scrypt) only protects low-entropy secrets such as passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from kargo.auth.policy import Principal
from kargo.model.base import utcnow
from kargo.store import Store, schema
from kargo.store.documents import as_utc

TOKEN_PREFIX = "kargo_"
ADMIN_TOKEN_NAME = "admin"
SYSTEM_ACTOR = "system"
"""The actor of automatic promotions and rollbacks; no token can carry this name."""
ROLES = ("viewer", "promoter", "admin")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class TokenError(ValueError):
    """A token request cannot be done; the message says why."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its secret."""

    name: str
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the token no longer authenticates."""
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    def to_dict(self) -> dict[str, str | None]:
        """The JSON form."""
        return {
            "name": self.name,
            "role": self.role,
            "createdBy": self.created_by,
            "createdAt": self.created_at.isoformat(),
            "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
        }


def new_token_secret() -> str:
    """A fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `2w`, `45s` as a timedelta."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise TokenError(f"invalid duration {text!r}: use a number and s, m, h, d or w, e.g. 30d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _info(row: Any) -> TokenInfo:
    name, role, created_by, created_at, expires_at = tuple(row)[:5]
    expires = as_utc(expires_at) if expires_at is not None else None
    return TokenInfo(str(name), str(role), str(created_by), as_utc(created_at), expires)


_COLUMNS = (
    schema.api_tokens.c.name,
    schema.api_tokens.c.role,
    schema.api_tokens.c.created_by,
    schema.api_tokens.c.created_at,
    schema.api_tokens.c.expires_at,
)


def create_token(
    store: Store,
    name: str,
    role: str,
    *,
    actor: str,
    expires_in: timedelta | None = None,
    source: str = "api",
) -> tuple[TokenInfo, str]:
    """Create a token; returns its description and its secret (shown once, never stored)."""
    if not _NAME.match(name) or name == SYSTEM_ACTOR:
        raise TokenError(
            f"invalid token name {name!r}: lower-case letters, digits, '.', '_' and '-' "
            f"(and not {SYSTEM_ACTOR!r})"
        )
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    secret = new_token_secret()
    now = utcnow()
    info = TokenInfo(name, role, actor, now, now + expires_in if expires_in else None)
    c = schema.api_tokens.c
    with store.transaction() as tx:
        if tx.connection.execute(sa.select(c.name).where(c.name == name)).first() is not None:
            raise TokenError(f"a token named {name!r} exists; delete it first")
        tx.connection.execute(
            schema.api_tokens.insert().values(
                name=name,
                role=role,
                token_hash=hash_token(secret),
                created_by=actor,
                created_at=now,
                expires_at=info.expires_at,
            )
        )
        tx.audit(
            project="",
            actor=actor,
            action="create-token",
            resource=f"tokens/{name}",
            source=source,
            result="ok",
            phase_after=role,
        )
    return info, secret


def delete_token(store: Store, name: str, *, actor: str) -> TokenInfo:
    """Revoke a token at once."""
    c = schema.api_tokens.c
    with store.transaction() as tx:
        row = tx.connection.execute(sa.select(*_COLUMNS).where(c.name == name)).first()
        if row is None:
            raise TokenError(f"no token named {name!r}; list them with `kargo get tokens`")
        tx.connection.execute(schema.api_tokens.delete().where(c.name == name))
        tx.audit(
            project="",
            actor=actor,
            action="delete-token",
            resource=f"tokens/{name}",
            source="api",
            result="ok",
            phase_before=row[1],
        )
    return _info(row)


def list_tokens(store: Store) -> list[TokenInfo]:
    """Every token, by name, without secrets."""
    with store.reading() as tx:
        rows = tx.connection.execute(sa.select(*_COLUMNS).order_by(_COLUMNS[0])).all()
    return [_info(row) for row in rows]


def authenticate(store: Store, secret: str) -> Principal | None:
    """The principal a bearer token stands for, or None when unknown or expired."""
    digest = hash_token(secret)
    c = schema.api_tokens.c
    with store.reading() as tx:
        row = tx.connection.execute(
            sa.select(*_COLUMNS, c.token_hash).where(c.token_hash == digest)
        ).first()
    if row is None or not hmac.compare_digest(str(row[5]), digest):
        return None
    info = _info(row)
    if info.expired():
        return None
    return Principal(subject=info.name, groups=(info.role,), kind="token")


def bootstrap_admin_token(store: Store) -> str | None:
    """On the first start (no token at all), create the `admin` token and return its secret."""
    with store.reading() as tx:
        count = tx.connection.execute(sa.select(sa.func.count()).select_from(schema.api_tokens))
        if int(count.scalar_one()) > 0:
            return None
    _, secret = create_token(store, ADMIN_TOKEN_NAME, "admin", actor=SYSTEM_ACTOR, source="server")
    return secret
