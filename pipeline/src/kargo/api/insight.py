"""Routes that explain rather than list: why freight is not in a stage, what the caller may do,
and the delivery (DORA) metrics of each stage."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from kargo.api.codes import ErrorCode
from kargo.api.contract import DeliveryMetrics, Explanation, Permissions
from kargo.api.errors import ApiError
from kargo.api.security import principal_of
from kargo.api.state import ServerState, server_state
from kargo.auth.policy import Permission
from kargo.auth.tokens import TokenError, parse_duration
from kargo.engine.delivery import project_metrics
from kargo.engine.explaining import explain_freight
from kargo.model.stage import Stage
from kargo.model.warehouse import Warehouse
from kargo.store import list_models

router = APIRouter(prefix="/api/v1/projects/{project}")
State = Annotated[ServerState, Depends(server_state)]
STAGE_VERBS = ("promote", "approve", "verify", "rollback", "abort")


@router.get("/explain", response_model=Explanation)
async def explain(
    project: str,
    state: State,
    freight: Annotated[str, Query(min_length=1)],
    stage: Annotated[str, Query(min_length=1)],
) -> dict[str, Any]:
    """Every reason the freight is not (yet) in the stage (`kargo explain freight`)."""
    found = await asyncio.to_thread(explain_freight, state.store, project, freight, stage)
    return found.to_dict()


@router.get("/permissions", response_model=Permissions)
async def permissions(project: str, request: Request, state: State) -> dict[str, Any]:
    """What the caller may do to each stage and warehouse (the dashboard shows only that)."""
    principal = principal_of(request)
    stages = await asyncio.to_thread(list_models, state.store, Stage, project)
    warehouses = await asyncio.to_thread(list_models, state.store, Warehouse, project)
    allows = state.policy.allows
    return {
        "stages": {
            s.name: {
                v: allows(principal, Permission(v, "stages", project, s.name)) for v in STAGE_VERBS
            }
            for s in stages
        },
        "warehouses": {
            w.name: {
                "refresh": allows(principal, Permission("refresh", "warehouses", project, w.name))
            }
            for w in warehouses
        },
    }


@router.get("/metrics", response_model=DeliveryMetrics)
async def metrics(project: str, state: State, window: str = "30d") -> dict[str, Any]:
    """Deployment frequency, lead time, change failure rate and time to restore per stage."""
    try:
        span = parse_duration(window)
    except TokenError as exc:
        raise ApiError(ErrorCode.BAD_REQUEST, f"window={window!r}: {exc}") from exc
    found = await asyncio.to_thread(project_metrics, state.store, project, span)
    return {"window": window, "stages": [m.to_dict() for m in found]}
