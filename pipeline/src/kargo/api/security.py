"""Authentication and authorisation of every route except `/healthz` and the dashboard's files.

`guard` (an app-wide dependency) turns the bearer token into a principal, remembers the client
address for audit records, and checks the route's permission from `ROUTE_PERMISSIONS`. A route
missing from that table is refused (deny by default). Routes whose permission depends on the
body (the stage of a promotion, approval or rollback, each document of an apply) call
`authorize` themselves; routes that span projects (watch, audit, the project list) keep only
what `readable` says the caller may read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request

from kargo.api.codes import ErrorCode
from kargo.api.errors import ApiError
from kargo.api.state import ServerState
from kargo.auth.policy import EVERY, Permission, Principal
from kargo.auth.refusals import RefusalWindows
from kargo.auth.tokens import authenticate
from kargo.store import source_address

log = logging.getLogger(__name__)
Resolver = Callable[[dict[str, Any]], Permission | None]
# The dashboard's static files hold no data; its API calls carry the token (api/ui.py).
PUBLIC_PATHS = frozenset({"/healthz", "/", "/ui", "/ui/", "/ui/{file}"})
REFUSALS = RefusalWindows()


def _fixed(verb: str, resource: str) -> Resolver:
    return lambda params: Permission(verb, resource, str(params.get("project") or ""))


def _everywhere(verb: str, resource: str) -> Resolver:
    """A permission over every project at once: only an unlimited binding grants it."""
    return lambda params: Permission(verb, resource, EVERY)


def _named(verb: str, resource: str) -> Resolver:
    return lambda params: Permission(
        verb, resource, str(params.get("project") or ""), str(params["name"])
    )


def _plural(params: dict[str, Any]) -> Permission:
    return Permission("get", str(params["plural"]).lower(), str(params.get("project") or ""))


def _in_route(params: dict[str, Any]) -> None:
    """The route checks the permission itself once it knows the stage."""
    return None


ROUTE_PERMISSIONS: dict[tuple[str, str], Resolver] = {
    ("GET", "/api/v1/version"): _fixed("get", "version"),
    ("GET", "/api/v1/leader"): _fixed("get", "version"),
    ("GET", "/api/v1/projects"): _fixed("get", "projects"),
    ("GET", "/api/v1/projects/{project}/events"): _fixed("get", "events"),
    ("GET", "/api/v1/projects/{project}/export"): _fixed("get", "export"),
    ("GET", "/api/v1/projects/{project}/promotions/{name}/logs"): _fixed("get", "logs"),
    ("GET", "/api/v1/projects/{project}/explain"): _fixed("get", "freight"),
    ("GET", "/api/v1/projects/{project}/permissions"): _fixed("get", "stages"),
    ("GET", "/api/v1/projects/{project}/metrics"): _fixed("get", "promotions"),
    ("GET", "/api/v1/projects/{project}/analysisruns/{name}/series"): _fixed("get", "analysisruns"),
    ("GET", "/api/v1/projects/{project}/{plural}"): _plural,
    ("GET", "/api/v1/projects/{project}/{plural}/{name}"): _plural,
    ("GET", "/api/v1/watch"): _fixed("get", "watch"),
    ("GET", "/api/v1/projects/{project}/webhookdeliveries"): _fixed("get", "webhookdeliveries"),
    ("GET", "/api/v1/audit"): _fixed("get", "audit"),
    ("GET", "/api/v1/audit/export"): _fixed("get", "audit"),
    ("GET", "/api/v1/audit/verify"): _everywhere("get", "audit"),  # the whole chain
    ("GET", "/api/v1/whoami"): _fixed("get", "version"),
    ("GET", "/openapi.json"): _fixed("get", "version"),
    ("POST", "/api/v1/apply"): _fixed("apply", "configuration"),
    ("POST", "/api/v1/projects/{project}/promotions"): _in_route,
    ("POST", "/api/v1/projects/{project}/promotions/{name}/abort"): _in_route,
    ("POST", "/api/v1/projects/{project}/rollbacks"): _in_route,
    ("POST", "/api/v1/projects/{project}/approvals"): _in_route,
    ("POST", "/api/v1/projects/{project}/stages/{name}/verify"): _named("verify", "stages"),
    ("POST", "/api/v1/projects/{project}/warehouses/{name}/refresh"): _named(
        "refresh", "warehouses"
    ),
    ("POST", "/api/v1/projects/{project}/webhookconfigs/{name}/test"): _fixed(
        "test", "webhookconfigs"
    ),
    ("POST", "/api/v1/projects/{project}/webhookdeliveries/{delivery_id}/redeliver"): _fixed(
        "redeliver", "webhookdeliveries"
    ),
    ("GET", "/api/v1/tokens"): _everywhere("get", "tokens"),
    ("POST", "/api/v1/tokens"): _everywhere("create", "tokens"),
    ("DELETE", "/api/v1/tokens/{name}"): _everywhere("delete", "tokens"),
}


def principal_of(request: Request) -> Principal:
    """The authenticated caller (set by `guard`)."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise ApiError(ErrorCode.UNAUTHORIZED, "this request was not authenticated")
    return principal


def client_address(request: Request) -> str:
    """The peer address, as the audit trail records it."""
    return request.client.host if request.client is not None else "unknown"


def bearer_problem(header: str) -> tuple[str, str | None]:
    """The token of an Authorization header, or why there is none."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return "", (
            "this server needs a bearer token: pass --token, set KARGO_TOKEN, or run "
            "`kargo login --token TOKEN` (the first admin token is in the server's "
            "state folder, admin.token)"
        )
    return value.strip(), None


def unknown_token_message() -> str:
    """The 401 message for a token that does not authenticate."""
    return (
        "the bearer token is unknown, revoked or expired; ask an admin for a new one "
        "(`kargo create token`)"
    )


def _bearer(request: Request) -> str:
    token, problem = bearer_problem(request.headers.get("authorization", ""))
    if problem is not None:
        raise ApiError(ErrorCode.UNAUTHORIZED, problem)
    return token


def deny(request: Request, principal: Principal, permission: Permission) -> ApiError:
    """Record the refused attempt in the audit trail and build the 403 answer."""
    state: ServerState = request.app.state.kargo
    needed = permission.describe()
    action = f"{request.method} {request.url.path}"
    resource = f"{permission.resource}/{permission.name or '*'}"
    folded = REFUSALS.admit(principal.subject, action, resource)
    if folded is not None:  # a flood of refusals: one record a minute per caller and kind
        also = f" (and {folded} more like it since the previous record)" if folded else ""
        with state.store.transaction() as tx:
            tx.audit(
                project=permission.project,
                actor=principal.subject,
                action=action,
                resource=resource,
                source="api",
                result=f"denied: missing permission {needed}{also}",
                address=client_address(request),
            )
    role = ", ".join(principal.groups) or "no role"
    return ApiError(
        ErrorCode.FORBIDDEN,
        f"{principal.subject} ({role}) may not do this: missing permission {needed}; "
        "ask an admin for a role bound to it in kargo/rbac.yaml",
        [{"verb": permission.verb, "resource": permission.resource, "name": permission.name}],
    )


def readable(request: Request, resource: str) -> Callable[[str], bool]:
    """Whether the caller may `get` resource in a project ("" means every project at once)."""
    state: ServerState = request.app.state.kargo
    principal = principal_of(request)
    cache: dict[str, bool] = {}

    def check(project: str) -> bool:
        if project not in cache:
            wanted = Permission("get", resource, project or EVERY)
            cache[project] = state.policy.allows(principal, wanted)
        return cache[project]

    return check


def authorize(request: Request, permission: Permission) -> None:
    """Raise 403 (and write an audit record) unless the caller holds the permission."""
    state: ServerState = request.app.state.kargo
    principal = principal_of(request)
    if not state.policy.allows(principal, permission):
        raise deny(request, principal, permission)


async def guard(request: Request) -> None:
    """Authenticate the request and check its route's permission (async: see the module doc)."""
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    if path in PUBLIC_PATHS:
        return
    state: ServerState = request.app.state.kargo
    principal = getattr(request.state, "principal", None)  # the gate authenticated already
    if not isinstance(principal, Principal):
        principal = await asyncio.to_thread(authenticate, state.store, _bearer(request))
    if principal is None:
        raise ApiError(ErrorCode.UNAUTHORIZED, unknown_token_message())
    request.state.principal = principal
    source_address.set(client_address(request))
    resolver = ROUTE_PERMISSIONS.get((request.method, path))
    if resolver is None:
        permission: Permission | None = Permission(request.method.lower(), path)
    else:
        permission = resolver(dict(request.path_params))
    if permission is not None:
        allowed = state.policy.allows(principal, permission)
        log.debug(
            "%s %s by %s from %s: %s %s",
            request.method,
            request.url.path,
            principal.subject,
            client_address(request),
            "allowed" if allowed else "denied",
            permission.describe(),
        )
        if not allowed:
            raise await asyncio.to_thread(deny, request, principal, permission)
