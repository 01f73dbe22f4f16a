"""Soak time: how long freight must have run, verified, in an upstream stage before it moves on.

`requiredSoakTime` on a stage's sources counts from the freight's verification upstream, and
only while the freight is still there. Approval for the stage skips it (and verification).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from kargo.model.durations import format_duration
from kargo.model.freight import Freight
from kargo.model.stage import FreightRequest, Stage


def soak_remaining(freight: Freight, request: FreightRequest, now: datetime) -> float | None:
    """Seconds left before the freight has soaked upstream as the request's strategy asks.

    `OneOf` (the default) needs one upstream stage, `All` every one of them. 0 when it may go
    now, None when it is not verified where it must be.
    """
    soak = request.sources.soak_seconds()
    every = request.sources.needs_all_upstream()
    lefts: list[float] = []
    for upstream in request.sources.stages:
        verified = freight.status.verified_in.get(upstream)
        if verified is not None and not soak:
            lefts.append(0.0)
        elif (
            verified is not None
            and verified.verified_at is not None
            and upstream in freight.status.currently_in  # soaking counts only while it is there
        ):
            lefts.append(max(0.0, soak - (now - verified.verified_at).total_seconds()))
        elif every:
            return None
    if not lefts:
        return None
    return max(lefts) if every else min(lefts)


def stage_soak_remaining(freight: Freight, stage: Stage, now: datetime) -> float | None:
    """Seconds of soak left before the freight may enter the stage (None: not applicable)."""
    if stage.name in freight.status.approved_for:
        return None
    found: list[float] = []
    for request in stage.spec.requested_freight:
        if request.origin.name != freight.origin.name or request.sources.direct:
            continue
        if not request.sources.soak_seconds():
            continue
        left = soak_remaining(freight, request, now)
        if left is not None:
            found.append(left)
    return min(found) if found else None


def soak_table(freight: Freight, stages: list[Stage], now: datetime) -> dict[str, int]:
    """For the API: whole seconds of soak still needed per downstream stage (0 = soaked)."""
    table = {}
    for stage in stages:
        left = stage_soak_remaining(freight, stage, now)
        if left is not None:
            table[stage.name] = math.ceil(left)
    return table


def with_soak(freight_body: dict[str, Any], stages: list[Stage], now: datetime) -> dict[str, Any]:
    """The freight document for the API, with the soak time still needed per downstream stage.

    `status.soakRemainingSeconds` maps each stage with a `requiredSoakTime` to whole seconds
    (0 = soaked); `status.soakRemaining` says the unmet ones in words ("production: 4m10s").
    """
    freight = Freight.model_validate(freight_body)
    table = soak_table(freight, stages, now)
    if not table:
        return freight_body
    status = dict(freight_body.get("status") or {})
    status["soakRemainingSeconds"] = table
    waiting = [f"{name}: {format_duration(left)}" for name, left in table.items() if left > 0]
    status["soakRemaining"] = ", ".join(waiting)
    return {**freight_body, "status": status}
