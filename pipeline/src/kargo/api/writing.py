"""Write routes: apply, promote, abort, roll back, approve, verify, refresh."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kargo.api.codes import ErrorCode
from kargo.api.contract import (
    ApplyResults,
    FreightView,
    PromoteAnswer,
    RollbackAnswer,
    StageView,
    Unchanged,
)
from kargo.api.errors import ApiError
from kargo.api.security import authorize, client_address
from kargo.api.state import ServerState, actor_of, server_state
from kargo.auth.policy import EVERY, Permission
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.approvals import approve_freight
from kargo.engine.operations import (
    abort_promotion,
    abort_verification,
    downstream_stages,
    plan_rollback,
    refresh_warehouse,
    rerun_verification,
    roll_back,
)
from kargo.engine.promoting import PromotionRequest, find_freight, request_promotion
from kargo.model.base import StrictModel
from kargo.model.promotion import Promotion
from kargo.model.warehouse import Warehouse
from kargo.store import to_document

router = APIRouter(prefix="/api/v1")
State = Annotated[ServerState, Depends(server_state)]
MAX_APPLY_BYTES = 5_000_000


class PromoteBody(StrictModel):
    """A promotion request."""

    stage: str
    freight: str | None = None
    freight_alias: str | None = None
    from_stage: str | None = None


class RollbackBody(StrictModel):
    """A rollback request."""

    to_stage: str | None = None
    stage: str | None = None
    freight: str | None = None
    freight_alias: str | None = None
    reason: str | None = None
    dry_run: bool = False


class ApprovalBody(StrictModel):
    """Approve freight for a stage."""

    freight: str
    stage: str


class VerifyBody(StrictModel):
    """Rerun or abort a stage's verification."""

    abort: bool = False


def apply_permission(resource: Any) -> Permission:
    """What applying one document needs: its project, and its stage (every stage if not one)."""
    kind = str(getattr(resource, "kind", ""))
    name = str(getattr(resource, "name", ""))
    project = name if kind == "Project" else str(getattr(resource, "project", ""))
    stage = name if kind == "Stage" else EVERY
    return Permission("apply", "configuration", project or EVERY, kind.lower(), stage=stage)


@router.post("/apply", response_model=ApplyResults)
async def apply(request: Request, state: State) -> dict[str, Any]:
    """Create or update the resources of a multi-document YAML body."""
    raw = await request.body()
    if len(raw) > MAX_APPLY_BYTES:
        raise ApiError(ErrorCode.BAD_REQUEST, "the configuration is larger than 5 MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(ErrorCode.BAD_REQUEST, "the body must be UTF-8 YAML") from exc
    actor = actor_of(request)

    def work() -> list[dict[str, str]]:
        loaded = load_text(text, "<request>")
        for item in loaded:  # each document against its own project and stage
            authorize(request, apply_permission(item.resource))
        return [r.to_dict() for r in apply_resources(state.store, loaded, actor=actor)]

    return {"results": await run_in_threadpool(work)}


@router.post(
    "/projects/{project}/promotions",
    response_model=PromoteAnswer,
    response_model_exclude_unset=True,
    responses={201: {"model": Promotion, "description": "The promotion, queued"}},
)
def promote(project: str, body: PromoteBody, request: Request, state: State) -> Any:
    """Queue a promotion (201), or say the stage already runs that freight (200)."""
    authorize(request, Permission("promote", "stages", project, body.stage))
    promotion = request_promotion(
        state.store,
        PromotionRequest(
            project=project,
            stage=body.stage,
            freight=body.freight,
            freight_alias=body.freight_alias,
            from_stage=body.from_stage,
            actor=actor_of(request),
        ),
    )
    if promotion is None:
        message = f"stage {body.stage} already runs that freight; nothing to do"
        return Unchanged(message=message).to_dict()
    return JSONResponse(to_document(promotion), status_code=201)


@router.post(
    "/projects/{project}/promotions/{name}/abort",
    response_model=Promotion,
    response_model_exclude_unset=True,
)
def abort(project: str, name: str, request: Request, state: State) -> dict[str, Any]:
    """Abort a promotion: a pending one ends at once, a running one is stopped."""
    stage = state.store.require("Promotion", project, name).get("spec", {}).get("stage", "")
    authorize(request, Permission("abort", "stages", project, str(stage)))
    promotion = abort_promotion(state.store, project, name, actor_of(request))
    if state.engine is not None:  # on a standby, the leader stops it from the stored abort
        state.engine.abort_running(project, promotion.spec.stage, name)
    return to_document(promotion)


@router.post(
    "/projects/{project}/rollbacks",
    response_model=RollbackAnswer,
    response_model_exclude_unset=True,
    responses={201: {"model": RollbackAnswer, "description": "Rollback promotions queued"}},
)
def rollback(project: str, body: RollbackBody, request: Request, state: State) -> Any:
    """Roll stages back to their last stable freight (or the given one); `dryRun` plans only.

    `stage` rolls back that stage; `toStage` rolls back every stage downstream of it (the guide's
    `kargo rollback planning-poker --to development` undoes what left development).
    """
    if body.stage:
        stages = [body.stage]
    elif body.to_stage:
        stages = downstream_stages(state.store, project, body.to_stage)
        if not stages:
            return {"items": [], "message": f"no stage takes freight from {body.to_stage}"}
    else:
        raise ApiError(ErrorCode.BAD_REQUEST, "name the stage to roll back: `stage` or `toStage`")
    for stage in stages:
        authorize(request, Permission("rollback", "stages", project, stage))
    wanted = body.freight or body.freight_alias
    if wanted:
        wanted = find_freight(state.store, project, wanted, wanted).name
    plans = [plan_rollback(state.store, project, stage, wanted) for stage in stages]
    if body.dry_run:
        return {"dryRun": True, "plan": [plan.to_dict() for plan in plans]}
    actor = actor_of(request)
    reason = body.reason or f"manual rollback by {actor}"
    promotions = [
        roll_back(state.store, project, plan.stage, plan.to_freight, reason, actor)
        for plan in plans
    ]
    items = [to_document(p) for p in promotions]
    return JSONResponse({"items": items, "plan": [p.to_dict() for p in plans]}, 201)


@router.post(
    "/projects/{project}/approvals", response_model=FreightView, response_model_exclude_unset=True
)
def approve(project: str, body: ApprovalBody, request: Request, state: State) -> dict[str, Any]:
    """Approve freight for a stage."""
    authorize(request, Permission("approve", "stages", project, body.stage))
    freight = approve_freight(state.store, project, body.freight, body.stage, actor_of(request))
    return to_document(freight)


@router.post(
    "/projects/{project}/stages/{name}/verify",
    response_model=StageView,
    response_model_exclude_unset=True,
)
def verify(
    project: str, name: str, request: Request, state: State, body: VerifyBody | None = None
) -> dict[str, Any]:
    """Rerun the stage's verification, or abort the running one."""
    abort = body is not None and body.abort
    if abort:  # the leading engine (this server's or another's) hears the stored request
        result = to_document(abort_verification(state.store, project, name))
    else:
        result = to_document(rerun_verification(state.store, project, name, actor_of(request)))
    with state.store.transaction() as tx:  # the engine's verification writes no record itself
        tx.audit(
            project=project,
            actor=actor_of(request),
            action="verification.abort" if abort else "verification.rerun",
            resource=f"Stage/{name}",
            source="api",
            result="ok",
            address=client_address(request),
        )
    return result


@router.post(
    "/projects/{project}/warehouses/{name}/refresh",
    response_model=Warehouse,
    response_model_exclude_unset=True,
)
def refresh(project: str, name: str, request: Request, state: State) -> dict[str, Any]:
    """Discover now."""
    return to_document(refresh_warehouse(state.store, project, name, actor_of(request)))
