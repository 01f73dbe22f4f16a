"""Automatic rollback: why (the metric, its value, the condition) and after failed promotions.

`autoRollback.onVerification` is applied by the verifier; `autoRollback.onPromotion` here: a
promotion that ends Failed or Errored returns the stage to the freight it ran before (a
rollback promotion), which also holds the failed freight back from auto-promotion.
"""

from __future__ import annotations

import logging
from typing import Any

from kargo.engine.autopromotion import project_config
from kargo.engine.promoting import create_promotion
from kargo.model.analysis import AnalysisPhase, AnalysisRun, AnalysisTemplate
from kargo.model.freight import Freight
from kargo.model.project import AutoRollback, PromotionOutcome
from kargo.model.promotion import ROLLBACK_ANNOTATION, Promotion, PromotionPhase
from kargo.model.stage import Stage
from kargo.store import Store, get_model

log = logging.getLogger(__name__)
ROLLBACK_ACTOR = "system"
_BAD = {AnalysisPhase.FAILED, AnalysisPhase.ERROR, AnalysisPhase.INCONCLUSIVE}


def auto_rollback_policy(store: Store, stage: Stage) -> AutoRollback | None:
    """The stage's enabled autoRollback settings, or None."""
    config = project_config(store, stage.project)
    policy = config.spec.policy_for(stage.name, stage.metadata.labels) if config else None
    rollback = policy.auto_rollback if policy else None
    return rollback if rollback is not None and rollback.enabled else None


def failed_metrics(
    run: AnalysisRun | None, templates: list[AnalysisTemplate]
) -> list[dict[str, Any]]:
    """Each metric that did not pass: template, name, phase, measured value, condition."""
    if run is None:
        return []
    conditions: dict[tuple[str, str], str] = {}
    for template in templates:
        for metric in template.spec.metrics:
            condition = metric.success_condition or ""
            if metric.failure_condition:
                condition = f"failure when {metric.failure_condition}"
            conditions[(template.name, metric.name)] = condition
    found = []
    for result in run.status.metric_results:
        if result.phase not in _BAD:
            continue
        latest = result.latest
        owner = result.template or ""
        found.append(
            {
                "template": owner,
                "metric": result.name,
                "phase": result.phase.value,
                "value": result.latest_value,
                "condition": conditions.get((owner, result.name), ""),
                "message": result.message or (latest.message if latest else "") or "",
            }
        )
    return found


def shorten(value: Any, limit: int = 160) -> str:
    """A measured value for a one-line reason: its repr, cut at `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verification_reason(stage: str, phase: str, metrics: list[dict[str, Any]], message: str) -> str:
    """Why a verification rollback happens, in words: metric, measured value, condition."""
    head = f"verification {phase} in {stage}"
    if not metrics:
        return f"{head}: {message}" if message else head
    parts = []
    for m in metrics:
        name = f"{m['template']}/{m['metric']}" if m["template"] else m["metric"]
        text = f"metric {name} {m['phase'].lower()}: measured {shorten(m['value'])}"
        if m["condition"]:
            text += f", condition {m['condition']}"
        parts.append(text)
    return f"{head}: " + "; ".join(parts)


def roll_back_failed_promotion(store: Store, body: dict[str, Any]) -> Promotion | None:
    """Apply `autoRollback.onPromotion` to a promotion that just ended Failed or Errored."""
    promotion = Promotion.model_validate(body)
    if ROLLBACK_ANNOTATION in promotion.metadata.annotations:
        return None  # a failed rollback does not roll back again
    phase = promotion.status.phase
    if phase not in (PromotionPhase.FAILED, PromotionPhase.ERRORED):
        return None
    stage = get_model(store, Stage, promotion.project, promotion.spec.stage)
    if stage is None:
        return None
    policy = auto_rollback_policy(store, stage)
    if policy is None or PromotionOutcome(phase.value) not in policy.on_promotion:
        return None
    current = stage.status.current_freight
    if current is None or current.name == promotion.spec.freight:
        return None
    target = get_model(store, Freight, stage.project, current.name)
    failed = get_model(store, Freight, stage.project, promotion.spec.freight)
    if target is None:
        return None
    reason = f"promotion {promotion.name} {phase.value}: {promotion.status.message or ''}".strip()
    log.info("auto-rollback of %s to %s: %s", stage.name, target.alias, reason)
    return create_promotion(
        store, stage, target, ROLLBACK_ACTOR, rollback_reason=reason, held=failed
    )
