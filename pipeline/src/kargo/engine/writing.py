"""One way to write: a transaction retried on conflict, with events and audit beside the change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from kargo.model.event import EventReason, EventType
from kargo.store import Store, StoreConflict, Transaction, get_model, save_model

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
ATTEMPTS = 8


def transact(store: Store, work: Callable[[Transaction], T]) -> T:
    """Run `work` in a transaction; on a conflict read again and retry (it must re-read)."""
    for attempt in range(ATTEMPTS):
        try:
            with store.transaction() as tx:
                return work(tx)
        except StoreConflict:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def update_model(
    tx: Transaction, cls: type[M], project: str, name: str, mutate: Callable[[M], None]
) -> M | None:
    """Read a resource in the transaction, change it, write it back (None when it is gone)."""
    current = get_model(tx, cls, project, name)
    if current is None:
        return None
    mutate(current)
    return save_model(tx, current)


def update_document(
    tx: Transaction, kind: str, project: str, name: str, mutate: Callable[[dict[str, Any]], None]
) -> dict[str, Any] | None:
    """Like update_model on the stored dict: for hot paths that touch a few status keys."""
    current = tx.get(kind, project, name)
    if current is None:
        return None
    mutate(current)
    return tx.update(current)


def record_event(
    tx: Transaction,
    *,
    project: str,
    reason: EventReason,
    kind: str,
    name: str,
    message: str,
    data: dict[str, Any] | None = None,
    type: EventType | None = None,
) -> None:
    """Append a Kargo event about an object in the same transaction as the change."""
    tx.event(
        project=project,
        reason=reason.value,
        type=(type or reason.default_type()).value,
        involved_kind=kind,
        involved_name=name,
        message=message,
        data=data or {},
    )


def record_audit(
    tx: Transaction,
    *,
    project: str,
    actor: str,
    action: str,
    resource: str,
    source: str,
    result: str = "ok",
    phase_before: str | None = None,
    phase_after: str | None = None,
) -> None:
    """Append an audit record in the same transaction as the change."""
    tx.audit(
        project=project,
        actor=actor or "unknown",
        action=action,
        resource=resource,
        source=source,
        result=result,
        phase_before=phase_before,
        phase_after=phase_after,
    )
