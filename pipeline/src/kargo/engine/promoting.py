"""Promotion requests: check the freight may enter the stage, then queue a Promotion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kargo.engine.errors import Invalid, NotFound
from kargo.engine.holds import place_hold, release_hold_for
from kargo.engine.naming import promotion_name
from kargo.engine.soaking import soak_remaining
from kargo.engine.writing import record_audit, record_event, transact
from kargo.model.base import ObjectMeta, utcnow
from kargo.model.durations import format_duration
from kargo.model.event import EventReason
from kargo.model.freight import Freight
from kargo.model.promotion import (
    ACTOR_ANNOTATION,
    ROLLBACK_ANNOTATION,
    Promotion,
    PromotionSpec,
)
from kargo.model.promotiontask import (
    ClusterPromotionTask,
    PromotionTask,
    PromotionTaskSpec,
    TaskInflationError,
    inflate_steps,
)
from kargo.model.stage import PromotionStepSpec, PromotionTaskReference, Stage
from kargo.store import Store, Transaction, get_model, list_models, save_model

AUTO_PROMOTION_ACTOR = "system"


@dataclass(frozen=True)
class PromotionRequest:
    """What a user (or the auto-promoter) asks for."""

    project: str
    stage: str
    freight: str | None = None
    freight_alias: str | None = None
    from_stage: str | None = None
    actor: str = "unknown"
    rollback_reason: str | None = None


def find_freight(store: Store, project: str, name: str | None, alias: str | None) -> Freight:
    """Freight by name (or unique name prefix) or by alias."""
    if name:
        found = get_model(store, Freight, project, name)
        if found is not None:
            return found
    candidates = list_models(store, Freight, project)
    for freight in candidates:
        if alias and freight.alias == alias:
            return freight
        if name and (freight.alias == name or freight.name.startswith(name)):
            return freight
    wanted = alias or name or "?"
    raise NotFound(f"freight {wanted!r} not found in project {project!r}; see `kargo get freight`")


def require_stage(store: Store, project: str, name: str) -> Stage:
    """A stage, or NotFound naming how to list them."""
    stage = get_model(store, Stage, project, name)
    if stage is None:
        raise NotFound(f"stage {name!r} not found in project {project!r}; see `kargo get stages`")
    return stage


def eligibility_problem(stage: Stage, freight: Freight, now: datetime | None = None) -> str | None:
    """Why freight may not enter the stage, or None when it may."""
    requests = [r for r in stage.spec.requested_freight if r.origin.name == freight.origin.name]
    if not requests:
        return f"stage {stage.name} does not take freight from warehouse {freight.origin.name}"
    if freight.status.approved_for.get(stage.name) is not None:
        return None
    now = now or utcnow()
    soaking: list[float] = []
    for request in requests:
        if request.sources.direct:
            return None
        left = soak_remaining(freight, request, now)
        if left == 0:
            return None
        if left is not None:
            soaking.append(left)
    name = freight.alias or freight.name
    approve = f"`kargo approve --freight {freight.alias} --stage {stage.name}`"
    upstream = ", ".join(s for r in requests for s in r.sources.stages)
    if soaking:
        required = max(r.sources.soak_seconds() for r in requests)
        return (
            f"freight {name} has not soaked long enough in upstream stage(s) {upstream}: "
            f"{format_duration(min(soaking))} remaining of the required soak time "
            f"{format_duration(required)}; wait, or approve it with {approve}"
        )
    return (
        f"freight {name} is not verified in upstream stage(s) "
        f"{upstream} nor approved for {stage.name}; approve it with {approve}"
    )


def request_promotion(store: Store, request: PromotionRequest) -> Promotion | None:
    """Queue a promotion; None when the stage already runs that freight with nothing queued."""
    stage = require_stage(store, request.project, request.stage)
    name, alias = request.freight, request.freight_alias
    if request.from_stage:
        upstream = require_stage(store, request.project, request.from_stage)
        current = upstream.status.current_freight
        if current is None:
            raise Invalid(f"stage {upstream.name} runs no freight yet; promote to it first")
        name, alias = current.name, None
    if not name and not alias:
        raise Invalid("give the freight (name or alias) or the stage to take it from")
    freight = find_freight(store, request.project, name, alias)
    if request.rollback_reason is None:
        problem = eligibility_problem(stage, freight)
        if problem is not None:
            raise Invalid(problem)
    current_freight = stage.status.current_freight
    if (
        request.rollback_reason is None
        and current_freight is not None
        and current_freight.name == freight.name
        and stage.status.current_promotion is None
    ):
        return None
    return create_promotion(store, stage, freight, request.actor, request.rollback_reason)


def promotion_steps(store: Store, stage: Stage) -> list[PromotionStepSpec]:
    """The stage's steps with (Cluster)PromotionTask steps inflated, as Kargo builds a promotion."""

    def lookup(ref: PromotionTaskReference) -> PromotionTaskSpec | None:
        if ref.kind == "ClusterPromotionTask":
            cluster = get_model(store, ClusterPromotionTask, "", ref.name)
            return cluster.spec if cluster else None
        task = get_model(store, PromotionTask, stage.project, ref.name)
        return task.spec if task else None

    template = stage.spec.promotion_template
    variables = template.spec.vars if template else []
    try:
        return inflate_steps(stage.steps(), variables, lookup)
    except TaskInflationError as exc:
        raise Invalid(f"stage {stage.name}: {exc}") from exc


def create_promotion(
    store: Store,
    stage: Stage,
    freight: Freight,
    actor: str,
    rollback_reason: str | None = None,
    held: Freight | None = None,
) -> Promotion:
    """Write a Pending promotion with the stage's steps, its event and audit record.

    A rollback holds the freight it leaves (`held`, by default the stage's current freight) back
    from auto-promotion; a promotion of the held freight or of newer freight lifts that hold.
    """
    annotations = {ACTOR_ANNOTATION: actor}
    if rollback_reason is not None:
        annotations[ROLLBACK_ANNOTATION] = rollback_reason
    promotion = Promotion(
        metadata=ObjectMeta(
            name=promotion_name(stage.name, freight.name),
            namespace=stage.project,
            annotations=annotations,
            labels={"kargo.akuity.io/stage": stage.name},
        ),
        spec=PromotionSpec(
            stage=stage.name,
            freight=freight.name,
            origin=freight.origin,
            steps=promotion_steps(store, stage),
        ),
    )

    def work(tx: Transaction) -> Promotion:
        saved = save_model(tx, promotion)
        if rollback_reason is not None:
            leaving = held or _current_freight(tx, stage)
            if leaving is not None and leaving.name != freight.name:
                place_hold(tx, stage, leaving, actor, rollback_reason)
        else:
            release_hold_for(tx, stage, freight)
        what = "Rollback" if rollback_reason is not None else "Promotion"
        record_event(
            tx,
            project=stage.project,
            reason=EventReason.PROMOTION_CREATED,
            kind="Promotion",
            name=saved.name,
            message=f"{what} of freight {freight.alias} to stage {stage.name} created by {actor}"
            + (f": {rollback_reason}" if rollback_reason else ""),
            data=promotion_event_data(
                saved, freight.alias, freight.commits[0].id if freight.commits else ""
            ),
        )
        record_audit(
            tx,
            project=stage.project,
            actor=actor,
            action="rollback" if rollback_reason is not None else "promote",
            resource=f"Promotion/{saved.name}",
            source="engine" if actor == AUTO_PROMOTION_ACTOR else "api",
            phase_after="Pending",
        )
        return saved

    return transact(store, work)


def _current_freight(tx: Transaction, stage: Stage) -> Freight | None:
    current = stage.status.current_freight
    return get_model(tx, Freight, stage.project, current.name) if current is not None else None


def promotion_event_data(promotion: Promotion, alias: str, commit: str) -> dict[str, Any]:
    """What every promotion event carries: stage, freight, alias, commit, actor, rollback."""
    rollback_reason = promotion.metadata.annotations.get(ROLLBACK_ANNOTATION)
    data: dict[str, Any] = {
        "stage": promotion.spec.stage,
        "freight": promotion.spec.freight,
        "freightAlias": alias,
        "commit": commit,
        "actor": promotion.actor,
        "promotion": promotion.name,
        "rollback": rollback_reason is not None,
    }
    if rollback_reason is not None:
        data["rollbackReason"] = rollback_reason
    return data
