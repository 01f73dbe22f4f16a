"""Every OpenAPI route needs a token (but /healthz), and each role gets exactly its share."""

from __future__ import annotations

from typing import Any

import httpx
from kargo.store import Store

from tests.pipeline.auth.conftest import API, Served

ROLES = ("viewer", "promoter", "admin")
RANK = {role: number for number, role in enumerate(ROLES)}
# (method, path) → the least role allowed (stage routes name development, the promoter's stage).
MINIMUM = {
    ("GET", "/healthz"): None,
    ("GET", "/api/v1/version"): "viewer",
    ("GET", "/api/v1/whoami"): "viewer",
    ("GET", "/api/v1/leader"): "viewer",
    ("GET", "/api/v1/projects"): "viewer",
    ("GET", "/api/v1/projects/{project}/events"): "viewer",
    ("GET", "/api/v1/projects/{project}/export"): "viewer",
    ("GET", "/api/v1/projects/{project}/promotions/{name}/logs"): "viewer",
    ("GET", "/api/v1/projects/{project}/{plural}"): "viewer",
    ("GET", "/api/v1/projects/{project}/{plural}/{name}"): "viewer",
    ("GET", "/api/v1/watch"): "viewer",
    ("GET", "/api/v1/projects/{project}/explain"): "viewer",
    ("GET", "/api/v1/projects/{project}/permissions"): "viewer",
    ("GET", "/api/v1/projects/{project}/metrics"): "viewer",
    ("GET", "/api/v1/projects/{project}/analysisruns/{name}/series"): "viewer",
    ("GET", "/api/v1/projects/{project}/webhookdeliveries"): "viewer",
    ("GET", "/api/v1/audit"): "viewer",
    ("GET", "/api/v1/audit/export"): "viewer",
    ("GET", "/api/v1/audit/verify"): "viewer",
    ("POST", "/api/v1/projects/{project}/promotions"): "promoter",
    ("POST", "/api/v1/projects/{project}/promotions/{name}/abort"): "promoter",
    ("POST", "/api/v1/projects/{project}/rollbacks"): "promoter",
    ("POST", "/api/v1/projects/{project}/approvals"): "promoter",
    ("POST", "/api/v1/projects/{project}/stages/{name}/verify"): "promoter",
    ("POST", "/api/v1/projects/{project}/warehouses/{name}/refresh"): "promoter",
    ("POST", "/api/v1/apply"): "admin",
    ("POST", "/api/v1/projects/{project}/webhookconfigs/{name}/test"): "admin",
    ("POST", "/api/v1/projects/{project}/webhookdeliveries/{delivery_id}/redeliver"): "admin",
    ("GET", "/api/v1/tokens"): "admin",
    ("POST", "/api/v1/tokens"): "admin",
    ("DELETE", "/api/v1/tokens/{name}"): "admin",
}


def concrete(method: str, path: str, served: Served, promotion: str) -> tuple[str, Any]:
    """A real URL and body for a route template (stage routes aim at development)."""
    name = {
        "/promotions/{name}": promotion,
        "/stages/{name}": "development",
        "/warehouses/{name}": "app",
        "/webhookconfigs/{name}": "missing-hook",
        "/tokens/{name}": "missing-token",
        "/analysisruns/{name}": "missing-run",
        "/{plural}/{name}": "development",
    }
    url = path.replace("{project}", "shop").replace("{delivery_id}", "999999")
    for template, value in name.items():
        url = url.replace(template, template.replace("{name}", value))
    url = url.replace("{plural}", "stages")
    bodies: dict[str, Any] = {
        "/promotions": {"stage": "development", "freight": served.freight},
        "/rollbacks": {"stage": "development", "dryRun": True},
        "/approvals": {"stage": "development", "freight": served.freight},
        "/verify": {"abort": True},
        "/api/v1/tokens": {"name": "matrix-made", "role": "viewer"},
    }
    body = next((b for suffix, b in bodies.items() if url.endswith(suffix)), None)
    if method == "POST" and url.endswith("/apply"):
        return url, ""
    return url, body


def status_of(client: httpx.Client, method: str, url: str, body: Any) -> int:
    """The answer's status; the body is not read (the watch route streams forever)."""
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
    with client.stream(method, url, params={"project": "shop"}, **kwargs) as response:
        return response.status_code


def documented_routes_and_a_promotion(served: Served) -> tuple[set[tuple[str, str]], str]:
    """The (method, path) pairs of the OpenAPI document, and a promotion to aim routes at."""
    with served.client("admin") as admin:
        document = admin.get("/openapi.json").json()
        created = admin.post(
            f"{API}/projects/shop/promotions",
            json={"stage": "development", "freight": served.freight},
        )
        assert created.status_code == 201, created.text
    routes = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    return routes, created.json()["metadata"]["name"]


def test_every_route_is_protected_and_each_role_gets_exactly_its_share(served: Served) -> None:
    routes, promotion = documented_routes_and_a_promotion(served)
    assert routes == set(MINIMUM), "a route was added or removed: extend the matrix"
    with served.client(None) as anonymous:
        assert anonymous.get("/openapi.json").status_code == 401
    outcomes: dict[tuple[str, str, str | None], int] = {}
    for role in (None, *ROLES):
        with served.client(role) as client:
            for method, path in sorted(routes, key=lambda r: r[0] == "DELETE"):
                url, body = concrete(method, path, served, promotion)
                outcomes[(method, path, role)] = status_of(client, method, url, body)
    problems = []
    for (method, path, role), status in outcomes.items():
        least = MINIMUM[(method, path)]
        if least is None:
            expected_ok = True
        elif role is None:
            expected_ok = False
            if status != 401:
                problems.append(f"{method} {path} without a token: {status}, expected 401")
            continue
        else:
            expected_ok = RANK[role] >= RANK[least]
        if expected_ok and status in (401, 403):
            problems.append(f"{method} {path} as {role}: {status}, expected it allowed")
        if not expected_ok and status != 403:
            problems.append(f"{method} {path} as {role}: {status}, expected 403")
    assert not problems, "\n".join(problems)


def test_a_promoter_is_refused_on_stages_outside_its_binding(served: Served) -> None:
    requests = [
        ("/projects/shop/promotions", {"stage": "production", "freight": served.freight}),
        ("/projects/shop/approvals", {"stage": "production", "freight": served.freight}),
        ("/projects/shop/rollbacks", {"stage": "production", "dryRun": True}),
        ("/projects/shop/stages/production/verify", {"abort": True}),
    ]
    with served.client("promoter") as promoter:
        for path, body in requests:
            answer = promoter.post(f"{API}{path}", json=body)
            assert answer.status_code == 403, (path, answer.text)
            assert "on stages/production in project shop" in answer.json()["error"]["message"]


def test_a_viewer_promoting_to_production_gets_403_and_the_attempt_is_audited(
    served: Served,
) -> None:
    with served.client("viewer") as viewer:
        answer = viewer.post(
            f"{API}/projects/shop/promotions",
            json={"stage": "production", "freight": served.freight},
        )
        assert answer.status_code == 403
        error = answer.json()["error"]
        assert error["code"] == "Forbidden"
        assert error["message"].startswith(
            "a-viewer (viewer) may not do this: missing permission promote on "
            "stages/production in project shop"
        )
        records = viewer.get(f"{API}/audit", params={"actor": "a-viewer"}).json()["items"]
    attempt = records[-1]
    assert attempt["action"] == "POST /api/v1/projects/shop/promotions"
    assert attempt["resource"] == "stages/production" and attempt["project"] == "shop"
    assert attempt["result"].startswith("denied: missing permission promote on stages/production")
    assert attempt["address"] == "127.0.0.1"
    store = Store.open(None, served.state_dir)
    try:
        assert not any(p["spec"]["stage"] == "production" for p in store.list("Promotion", "shop"))
    finally:
        store.close()


def test_requests_act_as_their_token_and_automatic_actions_as_system(served: Served) -> None:
    with served.client("admin") as admin:
        records = admin.get(f"{API}/audit").json()["items"]
        verified = admin.get(f"{API}/audit/verify").json()
        lines = admin.get(f"{API}/audit/export").text.splitlines()
    assert verified["ok"] is True, verified
    assert len(lines) == len(records)
    promoted = [r for r in records if r["action"] == "promote" and r["result"] == "ok"]
    assert promoted and promoted[0]["actor"] == "admin"
    assert {r["actor"] for r in records if r["action"].startswith("apply.")} == {"system"}


def test_the_only_routes_without_a_token_are_healthz_and_the_dashboard_files() -> None:
    """The dashboard's routes are left out of the OpenAPI document; they serve files only."""
    from kargo.api import ui
    from kargo.api.security import PUBLIC_PATHS

    dashboard = {(method, route.path) for route in ui.router.routes for method in route.methods}  # type: ignore[attr-defined]
    assert PUBLIC_PATHS == {"/healthz"} | {path for _, path in dashboard}
    assert {method for method, _ in dashboard} == {"GET"}
