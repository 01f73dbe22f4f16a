"""Why freight is not (yet) in a stage: every reason, from the same rules the engine acts on.

`explain_freight` answers both `kargo explain freight F --stage S` and the dashboard's "Why not
promoted?" panel. It reads the stage, the freight, the project's promotion policies and the
promotions; it changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from kargo.engine.autopromotion import candidate_freight, project_config
from kargo.engine.holds import held_freight, holds_back, stage_fully_held
from kargo.engine.promoting import find_freight, require_stage
from kargo.engine.soaking import soak_remaining
from kargo.model.base import utcnow
from kargo.model.durations import format_duration
from kargo.model.freight import Freight
from kargo.model.outcomes import Reason
from kargo.model.promotion import Promotion, PromotionPhase
from kargo.model.stage import HOLD_ANNOTATION, FreightRequest, Stage
from kargo.store import Store, list_models


@dataclass(frozen=True)
class Finding:
    """A reason and its sentence; `blocking` when it stops a promotion by hand too."""

    reason: Reason
    message: str
    blocking: bool = True
    seconds_left: int | None = None

    def to_dict(self) -> dict[str, object]:
        """The API form."""
        out: dict[str, object] = {
            "reason": self.reason.value,
            "message": self.message,
            "blocking": self.blocking,
        }
        if self.seconds_left is not None:
            out["secondsLeft"] = self.seconds_left
        return out


@dataclass
class Explanation:
    """The answer: whether a promotion by hand would be accepted now, and every reason."""

    freight: str
    alias: str
    stage: str
    promotable: bool
    findings: list[Finding] = field(default_factory=list)

    @property
    def in_stage(self) -> bool:
        """Whether the freight is the stage's current freight."""
        return any(f.reason is Reason.IN_STAGE for f in self.findings)

    def to_dict(self) -> dict[str, object]:
        """The API form."""
        return {
            "freight": self.freight,
            "alias": self.alias,
            "stage": self.stage,
            "inStage": self.in_stage,
            "promotable": self.promotable,
            "reasons": [f.to_dict() for f in self.findings],
        }


def explain_freight(
    store: Store, project: str, freight_ref: str, stage_name: str, now: datetime | None = None
) -> Explanation:
    """Every reason the freight (name, prefix or alias) is not in the stage."""
    now = now or utcnow()
    stage = require_stage(store, project, stage_name)
    freight = find_freight(store, project, freight_ref, freight_ref)
    name = freight.alias or freight.name
    found: list[Finding] = []
    current = stage.status.current_freight
    if current is not None and current.name == freight.name:
        found.append(
            Finding(Reason.IN_STAGE, f"{name} is the freight {stage.name} runs now", False)
        )
    found += _eligibility(freight, stage_name, stage.spec.requested_freight, now)
    found += _promotions(store, project, freight, stage_name)
    if not any(f.reason is Reason.IN_STAGE for f in found):
        found += _automation(store, project, freight, stage, now)
    promotable = not any(f.blocking for f in found)
    return Explanation(freight.name, freight.alias, stage.name, promotable, found)


def _eligibility(
    freight: Freight, stage: str, requests: list[FreightRequest], now: datetime
) -> list[Finding]:
    """The rules a promotion by hand must pass (verified upstream, soaked, or approved)."""
    name = freight.alias or freight.name
    matching = [r for r in requests if r.origin.name == freight.origin.name]
    if not matching:
        taken = ", ".join(sorted({r.origin.name for r in requests}))
        return [
            Finding(
                Reason.WRONG_WAREHOUSE,
                f"{stage} takes freight from {taken}, not from warehouse {freight.origin.name}",
            )
        ]
    if stage in freight.status.approved_for or any(r.sources.direct for r in matching):
        return []
    found: list[Finding] = []
    waits: list[float] = []
    unverified: list[str] = []
    for request in matching:
        left = soak_remaining(freight, request, now)
        if left == 0:
            return []
        if left is not None:
            waits.append(left)
        else:
            unverified += request.sources.stages
    approve = f"kargo approve --freight {freight.alias or freight.name} --stage {stage}"
    if waits:
        wait = min(waits)
        required = max(r.sources.soak_seconds() for r in matching)
        found.append(
            Finding(
                Reason.SOAKING,
                f"{name} is soaking upstream: {format_duration(wait)} left of "
                f"{format_duration(required)}",
                seconds_left=math.ceil(wait),
            )
        )
    elif unverified:
        found.append(
            Finding(
                Reason.NOT_VERIFIED_UPSTREAM,
                f"{name} is not verified in {' or '.join(unverified)} (upstream of {stage})",
            )
        )
    found.append(
        Finding(
            Reason.NEEDS_APPROVAL, f"{name} is not approved for {stage}; `{approve}` lets it in"
        )
    )
    return found


def _promotions(store: Store, project: str, freight: Freight, stage: str) -> list[Finding]:
    """A promotion into the stage that is running, or this freight's last one there failing."""
    found: list[Finding] = []
    ours = [p for p in list_models(store, Promotion, project) if p.spec.stage == stage]
    active = [p for p in ours if not p.phase.is_terminal()]
    for promotion in active:
        what = "this freight" if promotion.spec.freight == freight.name else "other freight"
        found.append(
            Finding(
                Reason.PROMOTION_RUNNING,
                f"promotion {promotion.name} of {what} into {stage} is {promotion.phase.value}",
                blocking=False,
            )
        )
    tried = [p for p in ours if p.spec.freight == freight.name and p.phase.is_terminal()]
    if tried:
        last = max(tried, key=lambda p: (p.metadata.creation_timestamp or utcnow(), p.name))
        if last.phase in (PromotionPhase.FAILED, PromotionPhase.ERRORED, PromotionPhase.ABORTED):
            message = f"the last promotion of it into {stage}, {last.name}, {last.phase.value}"
            detail = f": {last.status.message}" if last.status.message else ""
            found.append(Finding(Reason.PROMOTION_FAILED, message + detail, blocking=False))
    return found


def _automation(
    store: Store, project: str, freight: Freight, stage: Stage, now: datetime
) -> list[Finding]:
    """Why auto-promotion will not bring it (these never stop a promotion by hand)."""
    name = freight.alias or freight.name
    found: list[Finding] = []
    if stage_fully_held(stage):
        hold = stage.metadata.annotations.get(HOLD_ANNOTATION, "")
        found.append(
            Finding(Reason.HELD, f"auto-promotion into {stage.name} is held: {hold}", False)
        )
    elif held_freight(stage):
        held = next(
            (f for f in list_models(store, Freight, project) if f.name == held_freight(stage)), None
        )
        if holds_back(stage, freight, held):
            hold = stage.metadata.annotations.get(HOLD_ANNOTATION, "")
            found.append(
                Finding(
                    Reason.HELD,
                    f"{name} is held back from {stage.name} after a rollback ({hold}); "
                    "promoting it by hand lifts the hold",
                    False,
                )
            )
    config = project_config(store, project)
    policy = config.spec.policy_for(stage.name, stage.metadata.labels) if config else None
    if policy is None:
        found.append(
            Finding(
                Reason.NO_POLICY,
                f"no promotion policy of the project selects {stage.name}, so it is promoted "
                "by hand only",
                False,
            )
        )
    elif not policy.auto_promotion_enabled:
        found.append(
            Finding(
                Reason.AUTO_PROMOTION_OFF,
                f"auto-promotion is off for {stage.name}; promote it by hand",
                False,
            )
        )
    else:
        candidate = candidate_freight(stage, list_models(store, Freight, project), now)
        if candidate is not None and candidate.name != freight.name:
            found.append(
                Finding(
                    Reason.NEWER_FREIGHT,
                    f"auto-promotion takes the newest eligible freight, "
                    f"{candidate.alias or candidate.name}, into {stage.name}",
                    False,
                )
            )
    return found
