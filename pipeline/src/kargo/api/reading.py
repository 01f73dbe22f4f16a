"""Read routes: version, lists, single resources, events, logs and export."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from kargo import __version__, runtime
from kargo.api.codes import ErrorCode
from kargo.api.contract import (
    TEXT_ROUTE_ERRORS,
    AnyResource,
    AnyResourceList,
    EventList,
    Health,
    LeaderInfo,
    ProjectList,
    VersionInfo,
)
from kargo.api.errors import ApiError
from kargo.api.redaction import redact_resource
from kargo.api.security import principal_of, readable
from kargo.api.selectors import (
    label_requirements,
    matches_fields,
    matches_labels,
    parse_selector,
)
from kargo.api.state import ServerState, server_state
from kargo.api.streams import STREAMS
from kargo.engine.operations import aggregated_events
from kargo.engine.soaking import with_soak
from kargo.model.base import API_VERSION, utcnow
from kargo.model.promotion import PromotionPhase
from kargo.model.registry import kind_for_plural
from kargo.model.stage import Stage
from kargo.store import Store, list_models

log = logging.getLogger(__name__)
router = APIRouter()
State = Annotated[ServerState, Depends(server_state)]
EXPORTED_KINDS = ("ProjectConfig", "Warehouse", "Stage", "AnalysisTemplate", "WebhookConfig")


def resolve_kind(plural: str) -> str:
    """The kind a path segment names, or NotFound listing the known ones."""
    kind = kind_for_plural(plural)
    if kind is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"unknown resource type {plural!r}")
    return kind


def resource_list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A Kubernetes-style list answer."""
    return {"apiVersion": API_VERSION, "kind": f"{kind}List", "items": items}


@router.get("/healthz", response_model=Health)
def healthz() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


@router.get("/api/v1/version", response_model=VersionInfo)
def version() -> dict[str, str]:
    """The server's version and API version."""
    return {"version": __version__, "apiVersion": API_VERSION}


@router.get("/api/v1/leader", response_model=LeaderInfo)
def leader(state: State) -> dict[str, Any]:
    """Which server's engine reconciles: the engine lease's holder, and whether it is this one."""
    record = state.leadership.record()
    held = record is not None and not record.expired(time.time())
    return {
        "lease": state.leadership.name,
        "holder": record.holder if record and held else None,
        "renewedAt": record.renewed_at if record else None,
        "expiresAt": record.expires_at if record else None,
        "transitions": record.transitions if record else 0,
        "server": state.leadership.holder,
        "leading": state.engine is not None,
    }


@router.get("/api/v1/projects", response_model=ProjectList, response_model_exclude_unset=True)
def list_projects(request: Request, state: State) -> dict[str, Any]:
    """The projects the caller may read."""
    allowed = readable(request, "projects")
    projects = state.store.list("Project", "")
    return resource_list("Project", [p for p in projects if allowed(p["metadata"]["name"])])


@router.get(
    "/api/v1/projects/{project}/events", response_model=EventList, response_model_exclude_unset=True
)
def list_events(
    project: str,
    state: State,
    field_selector: Annotated[str | None, Query(alias="fieldSelector")] = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Events, aggregated by object, reason and message."""
    items = aggregated_events(state.store, project, parse_selector(field_selector), limit)
    return {"apiVersion": "v1", "kind": "EventList", "items": items}


@router.get(
    "/api/v1/projects/{project}/export",
    response_class=PlainTextResponse,
    responses={**TEXT_ROUTE_ERRORS, 200: {"content": {"application/yaml": {}}}},
)
def export(project: str, state: State) -> PlainTextResponse:
    """The effective configuration and the recent promotions as YAML, secrets redacted."""
    documents: list[dict[str, Any]] = []
    for kind in EXPORTED_KINDS:
        for body in state.store.list(kind, project):
            documents.append(redact_resource({k: v for k, v in body.items() if k != "status"}))
    promotions = sorted(state.store.list("Promotion", project), key=lambda p: p["metadata"]["name"])
    documents.extend(redact_resource(p) for p in promotions[-20:])
    text = yaml.safe_dump_all(documents, sort_keys=False)
    return PlainTextResponse(text, media_type="application/yaml")


@router.get(
    "/api/v1/projects/{project}/promotions/{name}/logs",
    response_class=PlainTextResponse,
    response_model=None,
    responses=TEXT_ROUTE_ERRORS,
)
def promotion_logs(
    project: str, name: str, request: Request, state: State, follow: bool = False
) -> PlainTextResponse | StreamingResponse:
    """A promotion's step log; with `follow=true`, streamed until the promotion ends."""
    state.store.require("Promotion", project, name)
    if not follow:
        lines = [line for _, line in state.store.logs(project, name)]
        return PlainTextResponse("\n".join(lines) + ("\n" if lines else ""))
    followed = STREAMS.bounded(principal_of(request).subject, _follow(state.store, project, name))
    return StreamingResponse(followed, media_type="text/plain")


async def _follow(store: Store, project: str, name: str) -> AsyncIterator[str]:
    last = 0
    while True:
        lines = await asyncio.to_thread(store.logs, project, name, last)
        for ident, line in lines:
            last = ident
            yield line + "\n"
        body = await asyncio.to_thread(store.get, "Promotion", project, name)
        phase = PromotionPhase((body or {}).get("status", {}).get("phase", "Pending"))
        if body is None or (phase.is_terminal() and not lines):
            return
        await asyncio.sleep(0.25)


@router.get(
    "/api/v1/projects/{project}/{plural}",
    response_model=AnyResourceList,
    response_model_exclude_unset=True,
)
def list_resources(
    project: str,
    plural: str,
    state: State,
    field_selector: Annotated[str | None, Query(alias="fieldSelector")] = None,
    label_selector: Annotated[str | None, Query(alias="labelSelector")] = None,
    limit: int | None = None,
    instances: bool = False,
) -> dict[str, Any]:
    """Resources of one kind in a project (stages with their runtime instances if asked)."""
    kind = resolve_kind(plural)
    fields, labels = parse_selector(field_selector), label_requirements(label_selector)
    items = [
        body
        for body in state.store.list(kind, project)
        if matches_fields(body, fields) and matches_labels(body, labels)
    ]
    if kind == "Stage" and instances:
        items = [with_instances(state, body) for body in items]
    if kind == "Freight":
        items = _with_soak(state, project, items)
    if kind == "Promotion":
        items.sort(key=lambda b: b["metadata"].get("creationTimestamp", ""))
    items = [redact_resource(body) for body in items]
    return resource_list(kind, items[-limit:] if limit else items)


@router.get(
    "/api/v1/projects/{project}/{plural}/{name}",
    response_model=AnyResource,
    response_model_exclude_unset=True,
)
def get_resource(
    project: str, plural: str, name: str, state: State, instances: bool = False
) -> dict[str, Any]:
    """One resource (freight also by alias; a stage with its runtime instances if asked)."""
    kind = resolve_kind(plural)
    body = state.store.get(kind, project, name)
    if body is None and kind == "Freight":
        body = next(
            (f for f in state.store.list("Freight", project) if f.get("alias") == name), None
        )
    if body is None:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            f"{kind} {name!r} not found in project {project!r}; list them with "
            f"`kargo get {plural} --project {project}`",
        )
    body = redact_resource(body)
    if kind == "Freight":
        return _with_soak(state, project, [body])[0]
    return with_instances(state, body) if kind == "Stage" and instances else body


def _with_soak(
    state: ServerState, project: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Freight with the soak time still needed downstream (`status.soakRemaining*`)."""
    stages = [
        stage for stage in list_models(state.store, Stage, project)
        if any(r.sources.required_soak_time for r in stage.spec.requested_freight)
    ]  # fmt: skip
    if not stages:
        return items
    now = utcnow()
    return [with_soak(body, stages, now) for body in items]


def with_instances(state: ServerState, body: dict[str, Any]) -> dict[str, Any]:
    """A stage with `status.instances`: what the local runtime runs for it (none without it)."""
    try:
        found = runtime.describe_stage(state.state_dir, body["metadata"]["name"])
    except (OSError, ValueError) as exc:
        log.warning("could not describe the instances of stage %s: %s", body["metadata"], exc)
        found = []
    shown = [i.model_dump(mode="json", by_alias=True) for i in found]
    return {**body, "status": {**(body.get("status") or {}), "instances": shown}}
