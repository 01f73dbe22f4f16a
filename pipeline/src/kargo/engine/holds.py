"""Auto-promotion holds after a rollback: the rolled-back freight does not come straight back.

A rollback annotates the stage with `kargo.akuity.io/auto-promotion-hold` (why) and
`kargo.akuity.io/auto-promotion-hold-freight` (which freight). Auto-promotion skips that freight
and anything older; the hold lifts when newer freight is promoted or when someone promotes the
held freight explicitly. A hold without the freight annotation holds the whole stage.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kargo.engine.writing import update_model
from kargo.model.freight import Freight
from kargo.model.stage import HOLD_ANNOTATION, Stage
from kargo.store import Transaction, get_model

HOLD_FREIGHT_ANNOTATION = "kargo.akuity.io/auto-promotion-hold-freight"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def held_freight(stage: Stage) -> str | None:
    """The freight a rollback holds back on this stage, or None."""
    return stage.metadata.annotations.get(HOLD_FREIGHT_ANNOTATION)


def stage_fully_held(stage: Stage) -> bool:
    """Whether the whole stage is held (a hold set by hand, not by a rollback)."""
    annotations = stage.metadata.annotations
    return HOLD_ANNOTATION in annotations and HOLD_FREIGHT_ANNOTATION not in annotations


def _order(freight: Freight) -> tuple[datetime, str]:
    return (freight.discovered_at or _EPOCH, freight.name)


def holds_back(stage: Stage, candidate: Freight, held: Freight | None) -> bool:
    """Whether a rollback hold keeps auto-promotion from taking `candidate` into the stage."""
    name = held_freight(stage)
    if name is None:
        return False
    if candidate.name == name:
        return True
    return held is not None and _order(candidate) <= _order(held)


def place_hold(tx: Transaction, stage: Stage, freight: Freight, actor: str, reason: str) -> None:
    """Hold `freight` back from auto-promotion into the stage (a rollback moved away from it)."""

    def mutate(latest: Stage) -> None:
        latest.metadata.annotations[HOLD_ANNOTATION] = (
            f"rolled back from {freight.alias or freight.name} by {actor}: {reason}"
        )
        latest.metadata.annotations[HOLD_FREIGHT_ANNOTATION] = freight.name

    update_model(tx, Stage, stage.project, stage.name, mutate)


def release_hold_for(tx: Transaction, stage: Stage, freight: Freight) -> bool:
    """Lift a rollback hold when `freight` is the held one or newer; whether it was lifted."""
    if held_freight(stage) is None:
        return False
    latest = get_model(tx, Stage, stage.project, stage.name)
    name = held_freight(latest) if latest is not None else None
    if name is None:
        return False
    held = get_model(tx, Freight, stage.project, name)
    if freight.name != name and held is not None and _order(freight) <= _order(held):
        return False

    def mutate(latest: Stage) -> None:
        latest.metadata.annotations.pop(HOLD_ANNOTATION, None)
        latest.metadata.annotations.pop(HOLD_FREIGHT_ANNOTATION, None)

    update_model(tx, Stage, stage.project, stage.name, mutate)
    return True
