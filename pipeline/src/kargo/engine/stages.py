"""Stage status: what a finished promotion changes on its stage and its freight."""

from __future__ import annotations

from typing import Any

from kargo.engine.writing import update_document
from kargo.model.base import utcnow
from kargo.model.promotion import Promotion, PromotionPhase
from kargo.model.stage import (
    FreightReference,
    Health,
    HealthState,
    PromotionReference,
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
    """Point the stage at its running promotion (a few status keys, written as a document)."""
    reference = promotion_reference(promotion).to_dict()

    def mutate(stage: dict[str, Any]) -> None:
        status = stage.setdefault("status", {})
        status["currentPromotion"] = reference
        status["health"] = {"status": HealthState.PROGRESSING.value, "issues": []}

    update_document(tx, "Stage", promotion.project, promotion.spec.stage, mutate)


def mark_promotion_finished(tx: Transaction, promotion: Promotion) -> dict[str, Any] | None:
    """Record the outcome; only a success changes the stage's current freight.

    Works on the stored documents (no model round trip): this runs once per promotion.
    """
    succeeded = promotion.status.phase is PromotionPhase.SUCCEEDED
    now = utcnow()
    previous: list[str] = []
    verifying = [False]

    def mutate(stage: dict[str, Any]) -> None:
        status = stage.setdefault("status", {})
        status.pop("currentPromotion", None)
        status["lastPromotion"] = promotion_reference(promotion).to_dict()
        history: list[dict[str, Any]] = status.get("freightHistory") or []
        current = history[0] if history else None
        if not succeeded:
            state = HealthState.HEALTHY if current else HealthState.UNKNOWN
            issue = f"promotion {promotion.name} {promotion.status.phase.value}"
            status["health"] = Health(status=state, issues=[issue]).to_dict()
            return
        if current is not None and current.get("name") != promotion.spec.freight:
            previous.append(str(current["name"]))
        verification = (stage.get("spec") or {}).get("verification") or {}
        verifying[0] = bool(verification.get("analysisTemplates"))
        freight = promotion.status.freight
        reference = FreightReference(
            name=promotion.spec.freight,
            alias=freight.alias if freight else "",
            origin=freight.origin if freight else None,
            commits=freight.commits if freight else [],
            promoted_at=now,
            promotion=promotion.name,
            verification_history=[VerificationInfo(phase=VerificationPhase.PENDING)]
            if verifying[0]
            else [],
        )
        status["freightHistory"] = [reference.to_dict(), *history][:HISTORY_LIMIT]
        status["freightSummary"] = reference.alias or reference.name[:7]
        health = HealthState.PROGRESSING if verifying[0] else HealthState.HEALTHY
        status["health"] = Health(status=health).to_dict()

    stage = update_document(tx, "Stage", promotion.project, promotion.spec.stage, mutate)
    if not succeeded or stage is None:
        return stage
    stage_name, since = promotion.spec.stage, now.isoformat()
    for name in previous:

        def leave(freight: dict[str, Any]) -> None:
            freight.setdefault("status", {}).setdefault("currentlyIn", {}).pop(stage_name, None)

        update_document(tx, "Freight", promotion.project, name, leave)

    def enter(freight: dict[str, Any]) -> None:
        status = freight.setdefault("status", {})
        status.setdefault("currentlyIn", {})[stage_name] = {"since": since}
        if not verifying[0]:
            status.setdefault("verifiedIn", {})[stage_name] = {"verifiedAt": since}

    update_document(tx, "Freight", promotion.project, promotion.spec.freight, enter)
    return stage
