"""Approvals: let freight into a stage without upstream verification (`kargo approve`)."""

from __future__ import annotations

from kargo.engine.promoting import find_freight, require_stage
from kargo.engine.writing import record_audit, record_event, transact, update_model
from kargo.model.event import EventReason
from kargo.model.freight import Freight, StageRef
from kargo.store import Store, Transaction


def approve_freight(store: Store, project: str, freight: str, stage: str, actor: str) -> Freight:
    """Mark freight approved for a stage, with its event and audit record."""
    target = require_stage(store, project, stage)
    found = find_freight(store, project, freight, freight)

    def work(tx: Transaction) -> Freight:
        def mutate(current: Freight) -> None:
            current.status.approved_for[target.name] = StageRef()

        updated = update_model(tx, Freight, project, found.name, mutate)
        assert updated is not None
        record_event(
            tx,
            project=project,
            reason=EventReason.FREIGHT_APPROVED,
            kind="Freight",
            name=found.name,
            message=f"Freight {found.alias} approved for stage {target.name} by {actor}",
            data={
                "stage": target.name,
                "freight": found.name,
                "freightAlias": found.alias,
                "actor": actor,
            },
        )
        record_audit(
            tx,
            project=project,
            actor=actor,
            action="approve",
            resource=f"Freight/{found.name}",
            source="api",
        )
        return updated

    return transact(store, work)
