"""Leases: one holder at a time for a named role, renewed before it expires.

Several servers may share one PostgreSQL database; only the holder of the `engine` lease runs
reconcilers and delivers webhooks. A holder is `host:pid@start:nonce`. A lease is free when it has
expired, or at once when its holder is a process on this host that no longer exists (a killed
server restarted on the same machine need not wait out the lease). Times are this host's clock;
servers sharing a database keep their clocks in sync (NTP), as Kubernetes leases assume.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kargo.liveness import is_alive, process_start_time
from kargo.store.errors import StoreError
from kargo.store.schema import leases
from kargo.store.store import Store


@dataclass(frozen=True)
class LeaseRecord:
    """Who holds a lease and until when (seconds since the epoch)."""

    name: str
    holder: str
    acquired_at: float
    renewed_at: float
    expires_at: float
    transitions: int

    def expired(self, now: float) -> bool:
        """Whether the holder let it lapse."""
        return self.expires_at <= now


def new_holder_identity() -> str:
    """`host:pid@start:nonce`, unique to this process and this election."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}@{process_start_time(pid) or 0}:{uuid.uuid4().hex[:8]}"


def holder_is_gone(holder: str) -> bool:
    """True when the holder was a process on this host that has exited (or been reaped)."""
    host, _, rest = holder.partition(":")
    pid_text, _, start_text = rest.partition(":")[0].partition("@")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    start = int(start_text) if start_text.isdigit() and start_text != "0" else None
    return not is_alive(pid, start)


def read_lease(store: Store, name: str) -> LeaseRecord | None:
    """The lease's current record, if anyone ever held it."""
    try:
        with store.reading() as tx:
            row = tx.connection.execute(sa.select(leases).where(leases.c.name == name)).first()
    except StoreError as exc:
        raise StoreError(f"cannot read lease {name}: {exc}") from exc
    return LeaseRecord(**row._mapping) if row is not None else None


def try_acquire(store: Store, name: str, holder: str, ttl: float) -> bool:
    """Take or renew the lease for `ttl` seconds; False while someone else holds it."""
    now = time.time()
    try:
        with store.transaction() as tx:
            query = sa.select(leases).where(leases.c.name == name)
            if store.dialect == "postgresql":
                query = query.with_for_update()
            row = tx.connection.execute(query).first()
            if row is None:
                tx.connection.execute(
                    leases.insert().values(
                        name=name,
                        holder=holder,
                        acquired_at=now,
                        renewed_at=now,
                        expires_at=now + ttl,
                        transitions=0,
                    )
                )
                return True
            current = LeaseRecord(**row._mapping)
            values: dict[str, object]
            if current.holder == holder:
                values = {"renewed_at": now, "expires_at": now + ttl}
            elif current.expired(now) or holder_is_gone(current.holder):
                values = {
                    "holder": holder,
                    "acquired_at": now,
                    "renewed_at": now,
                    "expires_at": now + ttl,
                    "transitions": current.transitions + 1,
                }
            else:
                return False
            tx.connection.execute(
                leases.update()
                .where(leases.c.name == name, leases.c.holder == current.holder)
                .values(**values)
            )
            return True
    except StoreError as exc:
        if isinstance(exc.__cause__, IntegrityError):
            return False  # another server inserted the first record at the same moment
        raise StoreError(f"cannot acquire lease {name}: {exc}") from exc


def release(store: Store, name: str, holder: str) -> None:
    """Give the lease up at once (only if `holder` still has it)."""
    try:
        with store.transaction() as tx:
            tx.connection.execute(
                leases.update()
                .where(leases.c.name == name, leases.c.holder == holder)
                .values(expires_at=0.0)
            )
    except StoreError as exc:
        raise StoreError(f"cannot release lease {name}: {exc}") from exc
