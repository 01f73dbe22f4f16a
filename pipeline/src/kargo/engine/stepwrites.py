"""What the engine lets steps write: a stored resource's body, changed in one transaction."""

from __future__ import annotations

from typing import Any

from kargo.engine.writing import transact
from kargo.steps.resources import Mutation
from kargo.store import Store, Transaction


class StepResourceWriter:
    """Updates and lists stored resources for steps such as set-metadata and set-freight-alias."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def update(self, kind: str, project: str, name: str, mutate: Mutation) -> dict[str, Any] | None:
        """Apply `mutate` to the current body and save it (read again on a conflict)."""

        def work(tx: Transaction) -> dict[str, Any] | None:
            body = tx.get(kind, project, name)
            if body is None:
                return None
            mutate(body)
            return tx.update(body)

        return transact(self.store, work)

    def list(self, kind: str, project: str) -> list[dict[str, Any]]:
        """The bodies of one kind in a project."""
        return list(self.store.list(kind, project))
