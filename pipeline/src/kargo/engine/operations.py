"""Operator requests beyond promote/approve: refresh, abort, re-verify, roll back, list events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kargo.engine.errors import Conflict, Invalid, NotFound
from kargo.engine.promoting import create_promotion, find_freight, require_stage
from kargo.engine.verification import last_stable_freight
from kargo.engine.writing import record_audit, record_event, transact, update_model
from kargo.model.base import utcnow
from kargo.model.event import EventReason
from kargo.model.promotion import ABORT_ANNOTATION, Promotion, PromotionPhase
from kargo.model.stage import Stage, VerificationInfo, VerificationPhase
from kargo.model.warehouse import REFRESH_ANNOTATION, Warehouse
from kargo.store import EventFilter, Store, Transaction, get_model


def refresh_warehouse(store: Store, project: str, name: str, actor: str) -> Warehouse:
    """Ask for discovery now (Kargo's refresh annotation with a new token)."""
    token = f"{utcnow().isoformat()}-{uuid.uuid4().hex[:6]}"

    def work(tx: Transaction) -> Warehouse:
        def mutate(warehouse: Warehouse) -> None:
            warehouse.metadata.annotations[REFRESH_ANNOTATION] = token

        updated = update_model(tx, Warehouse, project, name, mutate)
        if updated is None:
            raise NotFound(f"warehouse {name!r} not found in project {project!r}")
        record_audit(
            tx, project=project, actor=actor, action="refresh", resource=f"Warehouse/{name}",
            source="api",
        )  # fmt: skip
        return updated

    return transact(store, work)


def abort_promotion(store: Store, project: str, name: str, actor: str) -> Promotion:
    """Mark a promotion for abort; a Pending one ends Aborted at once."""

    def work(tx: Transaction) -> Promotion:
        promotion = get_model(tx, Promotion, project, name)
        if promotion is None:
            raise NotFound(f"promotion {name!r} not found in project {project!r}")
        if promotion.status.phase.is_terminal():
            raise Conflict(f"promotion {name} already ended {promotion.status.phase.value}")
        promotion.metadata.annotations[ABORT_ANNOTATION] = actor
        if promotion.status.phase is PromotionPhase.PENDING:
            promotion.status.phase = PromotionPhase.ABORTED
            promotion.status.message = f"aborted by {actor} before it started"
            promotion.status.finished_at = utcnow()
            record_event(
                tx,
                project=project,
                reason=EventReason.PROMOTION_ABORTED,
                kind="Promotion",
                name=name,
                message=f"Promotion {name} to stage {promotion.spec.stage} aborted by {actor}",
                data={"stage": promotion.spec.stage, "freight": promotion.spec.freight,
                      "actor": actor, "promotion": name},
            )  # fmt: skip
        from kargo.store import save_model

        saved = save_model(tx, promotion)
        record_audit(
            tx, project=project, actor=actor, action="abort", resource=f"Promotion/{name}",
            source="api",
        )  # fmt: skip
        return saved

    return transact(store, work)


def rerun_verification(store: Store, project: str, stage_name: str, actor: str) -> Stage:
    """Start a new verification of the stage's current freight."""
    require_stage(store, project, stage_name)

    def work(tx: Transaction) -> Stage:
        def mutate(stage: Stage) -> None:
            current = stage.status.current_freight
            if current is None:
                raise Invalid(f"stage {stage_name} runs no freight; nothing to verify")
            if stage.spec.verification is None:
                raise Invalid(f"stage {stage_name} has no verification configured")
            current.verification_history.insert(0, VerificationInfo(actor=actor))

        updated = update_model(tx, Stage, project, stage_name, mutate)
        assert updated is not None
        return updated

    return transact(store, work)


def abort_verification(store: Store, project: str, stage_name: str) -> Stage:
    """Ask the leading engine to stop the stage's running verification (any server may ask).

    As in Kargo, the request is the stage's abort annotation naming the verification; the engine
    hears of it through the store (and the change feed), so it works from a standby too.
    """
    require_stage(store, project, stage_name)

    def work(tx: Transaction) -> Stage:
        def mutate(stage: Stage) -> None:
            current = stage.status.current_freight
            running = (
                current.verification_history[0]
                if current and current.verification_history
                else None
            )
            if running is None or running.phase is not VerificationPhase.RUNNING or not running.id:
                raise Conflict(f"stage {stage_name} has no verification running")
            stage.metadata.annotations[ABORT_ANNOTATION] = running.id

        updated = update_model(tx, Stage, project, stage_name, mutate)
        assert updated is not None
        return updated

    return transact(store, work)


@dataclass(frozen=True)
class RollbackPlan:
    """Which freight a stage would return to."""

    stage: str
    from_freight: str
    to_freight: str
    to_alias: str

    def to_dict(self) -> dict[str, str]:
        """The API's JSON form."""
        return {"stage": self.stage, "fromFreight": self.from_freight,
                "toFreight": self.to_freight, "toAlias": self.to_alias}  # fmt: skip


def plan_rollback(
    store: Store, project: str, stage_name: str, freight: str | None = None
) -> RollbackPlan:
    """The rollback target: the given freight or the last stable one in the stage's history."""
    stage = require_stage(store, project, stage_name)
    current = stage.status.current_freight
    if current is None:
        raise Invalid(f"stage {stage_name} runs no freight; nothing to roll back")
    target_name = freight or last_stable_freight(stage)
    if target_name is None:
        raise Invalid(f"stage {stage_name} has no earlier stable freight to roll back to")
    target = find_freight(store, project, target_name, target_name)
    if freight is not None and not _ran_verified(stage, target.name):
        raise Invalid(
            f"freight {target.alias or target.name} was never verified in stage {stage_name}; "
            f"roll back only to freight that ran there (see `kargo get stage {stage_name} -o yaml`)"
        )
    return RollbackPlan(stage_name, current.name, target.name, target.alias)


def _ran_verified(stage: Stage, freight: str) -> bool:
    """Whether the freight ran in the stage and its verification there (if any) passed."""
    for reference in stage.status.freight_history:
        if reference.name != freight:
            continue
        phases = [v.phase for v in reference.verification_history]
        if not phases or VerificationPhase.SUCCESSFUL in phases:
            return True
    return False


def downstream_stages(store: Store, project: str, upstream: str) -> list[str]:
    """Stages that take freight from `upstream` and run some freight now."""
    require_stage(store, project, upstream)
    found = []
    for body in store.list("Stage", project):
        stage = Stage.model_validate(body)
        if upstream in stage.upstream_stages() and stage.status.current_freight is not None:
            found.append(stage.name)
    return found


def roll_back(
    store: Store, project: str, stage_name: str, freight: str | None, reason: str, actor: str
) -> Promotion:
    """Queue a rollback promotion to the planned freight."""
    plan = plan_rollback(store, project, stage_name, freight)
    stage = require_stage(store, project, stage_name)
    target = find_freight(store, project, plan.to_freight, None)
    return create_promotion(store, stage, target, actor, rollback_reason=reason or "manual")


def aggregated_events(
    store: Store, project: str, where: EventFilter | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Events as Kubernetes shows them: identical (object, reason, message) counted together."""
    grouped: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for event in store.events(project, where=where):
        key = (event.involved_kind, event.involved_name, event.reason, event.message)
        entry = grouped.get(key)
        if entry is None:
            grouped[key] = _event_record(project, event.seq, event.uid, event.created_at, event)
        else:
            entry["count"] += 1
            entry["lastTimestamp"] = event.created_at.isoformat()
            entry["data"] = event.data
    records = sorted(grouped.values(), key=lambda r: r["metadata"]["resourceVersion"])
    return records[-limit:] if limit else records


def _event_record(
    project: str, seq: int, uid: str, created: datetime, event: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{event.involved_name}.{seq}",
            "namespace": project,
            "uid": uid,
            "resourceVersion": seq,
        },  # fmt: skip
        "involvedObject": {
            "kind": event.involved_kind,
            "name": event.involved_name,
            "namespace": project,
        },  # fmt: skip
        "reason": event.reason,
        "type": event.type,
        "message": event.message,
        "count": 1,
        "firstTimestamp": created.isoformat(),
        "lastTimestamp": created.isoformat(),
        "data": event.data,
    }


__all__ = [
    "RollbackPlan",
    "VerificationPhase",
    "abort_promotion",
    "aggregated_events",
    "downstream_stages",
    "plan_rollback",
    "refresh_warehouse",
    "rerun_verification",
    "roll_back",
]
