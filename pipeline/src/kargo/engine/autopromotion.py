"""Auto-promotion: promote the newest eligible freight into stages whose policy allows it.

Freight is eligible when it comes straight from the warehouse (`direct`), or is verified (and
soaked for `requiredSoakTime`) in one upstream stage, or in all of them with `availabilityStrategy:
All`, or is approved for the stage. `autoPromotionOptions.selectionPolicy` picks the newest
eligible freight (`NewestFreight`) or the one the single upstream stage runs (`MatchUpstream`).
The policy is the first of the project's ProjectConfig (named after the project, as Kargo reads
it) whose `stage` or `stageSelector` selects the stage. A stage with the
hold annotation is skipped; after a rollback only the rolled-back freight (and older) is held.
Freight is never auto-promoted twice to the same stage, so a failed promotion (or a rollback
away from it) is not retried in a loop.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kargo.engine.holds import held_freight, holds_back, stage_fully_held
from kargo.engine.promoting import AUTO_PROMOTION_ACTOR, create_promotion
from kargo.engine.soaking import soak_remaining
from kargo.model.base import utcnow
from kargo.model.freight import Freight
from kargo.model.project import ProjectConfig
from kargo.model.stage import FreightRequest, SelectionPolicy, Stage
from kargo.store import Store, get_model, list_models

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _eligible(freight: Freight, stage: Stage, request: FreightRequest, now: datetime) -> bool:
    if freight.origin.name != request.origin.name:
        return False
    if stage.name in freight.status.approved_for or request.sources.direct:
        return True
    return soak_remaining(freight, request, now) == 0


def _selected(request: FreightRequest, eligible: list[Freight]) -> Freight | None:
    if request.sources.selection_policy() is SelectionPolicy.MATCH_UPSTREAM:
        upstream = request.sources.stages[0] if request.sources.stages else None
        running = [f for f in eligible if upstream in f.status.currently_in]
        return running[0] if running else None
    return max(eligible, key=lambda f: (f.discovered_at or _EPOCH, f.name)) if eligible else None


def candidate_freight(stage: Stage, freight: list[Freight], now: datetime) -> Freight | None:
    """The freight the stage's selection policy picks now (the first request's pick), or None."""
    for request in stage.spec.requested_freight:
        eligible = [f for f in freight if _eligible(f, stage, request, now)]
        picked = _selected(request, eligible)
        if picked is not None:
            return picked
    return None


def project_config(store: Store, project: str) -> ProjectConfig | None:
    """The project's configuration: the ProjectConfig named after the project."""
    return get_model(store, ProjectConfig, project, project)


def auto_promotion_enabled(config: ProjectConfig | None, stage: Stage) -> bool:
    """Whether the project's policy turns auto-promotion on for the stage."""
    if config is None:
        return False
    policy = config.spec.policy_for(stage.name, stage.metadata.labels)
    return policy is not None and policy.auto_promotion_enabled


def auto_promote(
    store: Store, project: str, already_requested: set[tuple[str, str, str]]
) -> list[str]:
    """Create the promotions the policies ask for; returns their names."""
    config = project_config(store, project)
    if config is None or not any(p.auto_promotion_enabled for p in config.spec.promotion_policies):
        return []
    now = utcnow()
    freight = list_models(store, Freight, project)
    created = []
    for stage in list_models(store, Stage, project):
        if stage_fully_held(stage):
            continue
        if not auto_promotion_enabled(config, stage):
            continue
        candidate = candidate_freight(stage, freight, now)
        if candidate is None:
            continue
        current = stage.status.current_freight
        if current is not None and current.name == candidate.name:
            continue
        held = held_freight(stage)
        if held and holds_back(
            stage, candidate, next((f for f in freight if f.name == held), None)
        ):
            continue
        key = (project, stage.name, candidate.name)
        if key in already_requested:
            continue
        already_requested.add(key)
        promotion = create_promotion(store, stage, candidate, AUTO_PROMOTION_ACTOR)
        created.append(promotion.name)
    return created
