"""Stage status: what a finished promotion changes on its stage and its freight."""

from __future__ import annotations

from typing import Any

from kargo.engine.writing import update_document, update_model
from kargo.model.base import utcnow
from kargo.model.promotion import Promotion, PromotionPhase
from kargo.model.stage import (
    FreightReference,
    Health,
    HealthState,
    PromotionReference,
    Stage,
    VerificationInfo,
    VerificationPhase,
)
from kargo.store import Transaction

HISTORY_LIMIT = 10


def promotion_reference(promotion: Promotion) -> PromotionReference:
    """A summary of a promotion for the stage's status."""
    freight = promotion.status.freight
    return PromotionReference(
        name=promotion.name,
        freight=promotion.spec.freight,
        freight_alias=freight.alias if freight else "",
        phase=promotion.status.phase.value,
        message=promotion.status.message,
        finished_at=promotion.status.finished_at,
    )


def mark_promotion_started(tx: Transaction, promotion: Promotion) -> None:
    """Point the stage at its running promotion."""

    def mutate(stage: Stage) -> None:
        stage.status.current_promotion = promotion_reference(promotion)
        stage.status.health = Health(status=HealthState.PROGRESSING)

    update_model(tx, Stage, promotion.project, promotion.spec.stage, mutate)


def mark_promotion_finished(tx: Transaction, promotion: Promotion) -> Stage | None:
    """Record the outcome; only a success changes the stage's current freight."""
    succeeded = promotion.status.phase is PromotionPhase.SUCCEEDED
    now = utcnow()
    previous: list[str] = []

    def mutate(stage: Stage) -> None:
        stage.status.current_promotion = None
        stage.status.last_promotion = promotion_reference(promotion)
        if not succeeded:
            current = stage.status.current_freight
            stage.status.health = Health(
                status=HealthState.HEALTHY if current else HealthState.UNKNOWN,
                issues=[f"promotion {promotion.name} {promotion.status.phase.value}"],
            )
            return
        current = stage.status.current_freight
        if current is not None and current.name != promotion.spec.freight:
            previous.append(current.name)
        freight = promotion.status.freight
        verifying = stage.spec.verification is not None and bool(
            stage.spec.verification.analysis_templates
        )
        reference = FreightReference(
            name=promotion.spec.freight,
            alias=freight.alias if freight else "",
            origin=freight.origin if freight else None,
            commits=freight.commits if freight else [],
            promoted_at=now,
            promotion=promotion.name,
            verification_history=[VerificationInfo(phase=VerificationPhase.PENDING)]
            if verifying
            else [],
        )
        history = [reference, *stage.status.freight_history]
        stage.status.freight_history = history[:HISTORY_LIMIT]
        stage.status.freight_summary = reference.alias or reference.name[:7]
        stage.status.health = Health(
            status=HealthState.PROGRESSING if verifying else HealthState.HEALTHY
        )

    stage = update_model(tx, Stage, promotion.project, promotion.spec.stage, mutate)
    if not succeeded or stage is None:
        return stage
    verified = stage.spec.verification is None or not stage.spec.verification.analysis_templates
    stage_name, since = stage.name, now.isoformat()
    for name in previous:

        def leave(freight: dict[str, Any]) -> None:
            freight.setdefault("status", {}).setdefault("currentlyIn", {}).pop(stage_name, None)

        update_document(tx, "Freight", promotion.project, name, leave)

    def enter(freight: dict[str, Any]) -> None:
        status = freight.setdefault("status", {})
        status.setdefault("currentlyIn", {})[stage_name] = {"since": since}
        if verified:
            status.setdefault("verifiedIn", {})[stage_name] = {"verifiedAt": since}

    update_document(tx, "Freight", promotion.project, promotion.spec.freight, enter)
    return stage
