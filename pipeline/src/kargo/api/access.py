"""Access-control routes: tokens, the audit trail (list, JSON lines, chain check), whoami."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from kargo.api.codes import ErrorCode
from kargo.api.contract import (
    TEXT_ROUTE_ERRORS,
    AuditList,
    ChainReport,
    CreatedToken,
    TokenInfo,
    TokenList,
    WhoAmI,
)
from kargo.api.errors import ApiError
from kargo.api.security import deny, principal_of, readable
from kargo.api.state import ServerState, actor_of, server_state
from kargo.auth.chain import verify_chain
from kargo.auth.policy import Principal
from kargo.auth.tokens import TokenError, create_token, delete_token, list_tokens, parse_duration
from kargo.model.base import StrictModel, utcnow
from kargo.store.documents import AuditRecord

router = APIRouter(prefix="/api/v1")
root = APIRouter()
State = Annotated[ServerState, Depends(server_state)]


class TokenBody(StrictModel):
    """A token to create."""

    name: str
    role: str
    expires: str | None = None


def audit_json(record: AuditRecord) -> dict[str, Any]:
    """One audit record as the API and the JSON-lines export give it."""
    return {
        "id": record.id,
        "time": record.time.isoformat(),
        "actor": record.actor,
        "action": record.action,
        "project": record.project,
        "resource": record.resource,
        "phaseBefore": record.phase_before,
        "phaseAfter": record.phase_after,
        "source": record.source,
        "address": record.address,
        "result": record.result,
        "prevHash": record.prev_hash,
        "hash": record.hash,
    }


@router.get("/whoami", response_model=WhoAmI)
def whoami(request: Request) -> dict[str, Any]:
    """The caller's subject and groups."""
    principal = principal_of(request)
    return {"subject": principal.subject, "groups": list(principal.groups)}


@router.get("/tokens", response_model=TokenList)
def get_tokens(state: State) -> dict[str, Any]:
    """Every token, without secrets."""
    return {"items": [t.to_dict() for t in list_tokens(state.store)]}


@router.post("/tokens", status_code=201, response_model=CreatedToken)
def post_token(body: TokenBody, request: Request, state: State) -> dict[str, Any]:
    """Create a token; the answer holds its secret, which the server never shows again."""
    creator = principal_of(request)
    beyond = state.policy.beyond(creator, Principal(body.name, (body.role,)))
    if beyond:  # a token never carries more than its creator holds
        raise deny(request, creator, beyond[0])
    try:
        expires = parse_duration(body.expires) if body.expires else None
        info, secret = create_token(
            state.store, body.name, body.role, actor=actor_of(request), expires_in=expires
        )
    except TokenError as exc:
        raise ApiError(ErrorCode.INVALID, str(exc)) from exc
    return {**info.to_dict(), "token": secret}


@router.delete("/tokens/{name}", response_model=TokenInfo)
def remove_token(name: str, request: Request, state: State) -> dict[str, Any]:
    """Revoke a token at once."""
    try:
        info = delete_token(state.store, name, actor=actor_of(request))
    except TokenError as exc:
        raise ApiError(ErrorCode.NOT_FOUND, str(exc)) from exc
    return info.to_dict()


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return utcnow() - parse_duration(text)
    except TokenError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(
            ErrorCode.BAD_REQUEST, f"since={text!r}: use a duration (1h, 30m, 7d) or ISO time"
        ) from exc


def _records(
    request: Request,
    state: ServerState,
    project: str | None,
    actor: str | None,
    since: str | None,
) -> list[AuditRecord]:
    """The records the caller may read: those of projects where it may `get audit`."""
    allowed = readable(request, "audit")
    records = state.store.audit_records(project, actor=actor, since=_since(since))
    return [record for record in records if allowed(record.project)]


Filter = Annotated[str | None, Query()]


@router.get("/audit", response_model=AuditList)
async def get_audit(
    request: Request,
    state: State,
    project: Filter = None,
    actor: Filter = None,
    since: Filter = None,
) -> dict[str, Any]:
    """Audit records, oldest first; `actor`, `since` (1h or ISO time) and `project` filter."""
    records = await run_in_threadpool(_records, request, state, project, actor, since)
    return {"items": [audit_json(r) for r in records]}


@router.get(
    "/audit/export",
    response_class=PlainTextResponse,
    responses={**TEXT_ROUTE_ERRORS, 200: {"content": {"application/x-ndjson": {}}}},
)
async def export_audit(
    request: Request,
    state: State,
    project: Filter = None,
    actor: Filter = None,
    since: Filter = None,
) -> PlainTextResponse:
    """The audit trail as JSON lines, one record a line."""
    records = await run_in_threadpool(_records, request, state, project, actor, since)
    text = "".join(json.dumps(audit_json(r), separators=(",", ":")) + "\n" for r in records)
    return PlainTextResponse(text, media_type="application/x-ndjson")


@router.get(
    "/audit/verify",
    response_model=ChainReport,
    responses={409: {"model": ChainReport, "description": "The chain is broken"}},
)
async def verify_audit(state: State) -> JSONResponse:
    """Recompute the hash chain: 200 when intact, 409 naming the first broken record."""
    report = await run_in_threadpool(verify_chain, state.store)
    answer = report.model_dump(mode="json", by_alias=True)
    return JSONResponse(answer, status_code=200 if report.ok else 409)


@root.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    """The OpenAPI document (it needs a token like every route but `/healthz`)."""
    document: dict[str, Any] = request.app.openapi()
    return document
