"""Project- and stage-limited bindings cannot be escaped (issue 15, item 4), and the route matrix.

The matrix is generated from `ROUTE_PERMISSIONS`, the table the guard reads: every route is
called by a global admin, an admin limited to project shop, a viewer limited to project other
and no token, and the answer must follow the route's scope (its project, no project, or every
project at once). A route added without an entry is refused, and fails this test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kargo.api.security import ROUTE_PERMISSIONS
from kargo.auth.policy import EVERY

from tests.pipeline.auth.conftest import API, Served, pipeline, serving
from tests.pipeline.auth.test_routes import concrete, documented_routes_and_a_promotion, status_of
from tests.pipeline.documents import documents

READ = [
    "version", "projects", "projectconfigs", "warehouses", "freight", "stages", "promotions",
    "analysistemplates", "analysisruns", "webhookconfigs", "webhookdeliveries", "events",
    "logs", "export", "audit", "watch",
]  # fmt: skip
RBAC = f"""\
roles:
  viewer: {{rules: [{{verbs: [get], resources: {READ}}}]}}
  promoter: {{rules: [{{verbs: [get], resources: {READ}}},
                     {{verbs: [promote, approve, verify, rollback, abort], resources: [stages]}}]}}
  admin: {{rules: [{{verbs: ["*"], resources: ["*"]}}]}}
  issuer: {{rules: [{{verbs: [get, create], resources: [tokens]}}]}}
bindings:
- {{role: admin, subjects: [admin]}}
- {{role: admin, groups: [admin], projects: [shop]}}
- {{role: admin, subjects: [dev-admin], projects: [shop], stages: [development]}}
- {{role: viewer, groups: [viewer], projects: [other]}}
- {{role: promoter, groups: [promoter], projects: [shop], stages: [development]}}
- {{role: issuer, subjects: [issuer]}}
"""
OTHER = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: other}
"""
# token name → role (its group); the bindings above give each its scope
TOKENS = {
    "shop-admin": "admin",
    "dev-admin": "viewer",
    "other-viewer": "viewer",
    "issuer": "viewer",
}


@pytest.fixture(scope="module")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tokens = {name: (name, role) for name, role in TOKENS.items()}
    with serving(
        tmp_path_factory.mktemp("scopes"),
        lambda repo: documents(pipeline(repo), OTHER),
        RBAC,
        tokens,
    ) as running:
        yield running


def stage_document(project: str, name: str) -> str:
    """A Stage to apply (development's own shape) in a project."""
    return (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n"
        f"metadata: {{name: {name}, namespace: {project}}}\n"
        "spec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n"
        "    sources: {direct: true}\n"
        "  promotionTemplate: {spec: {steps: [{uses: shell, config: {command: 'echo ok'}}]}}\n"
    )


def apply(client: httpx.Client, text: str) -> httpx.Response:
    return client.post(f"{API}/apply", content=text, headers={"Content-Type": "application/yaml"})


def test_a_project_limited_admin_cannot_apply_to_another_project(scoped: Served) -> None:
    with scoped.client("shop-admin") as client:
        assert apply(client, stage_document("shop", "development")).status_code == 200
        answer = apply(client, OTHER + "---\n" + stage_document("shop", "development"))
        assert answer.status_code == 403, answer.text
        assert "in project other" in answer.json()["error"]["message"]
        mixed = stage_document("shop", "development") + "---\n" + stage_document("other", "qa")
        assert apply(client, mixed).status_code == 403  # one foreign document refuses the lot


def test_an_admin_limited_to_development_cannot_apply_over_production(scoped: Served) -> None:
    with scoped.client("dev-admin") as client:
        assert apply(client, stage_document("shop", "development")).status_code == 200
        answer = apply(client, stage_document("shop", "production"))
        assert answer.status_code == 403
        assert "for stage production" in answer.json()["error"]["message"]


def test_a_project_limited_admin_cannot_mint_tokens(scoped: Served) -> None:
    with scoped.client("shop-admin") as client:
        answer = client.post(f"{API}/tokens", json={"name": "escape", "role": "admin"})
        assert answer.status_code == 403
        assert "in every project" in answer.json()["error"]["message"]


def test_a_token_never_carries_more_than_its_creator(scoped: Served) -> None:
    with scoped.client("issuer") as client:
        answer = client.post(f"{API}/tokens", json={"name": "bigger", "role": "admin"})
        assert answer.status_code == 403, answer.text
        # the issuer may name a token after a powerful subject: still not more than it holds
        answer = client.post(f"{API}/tokens", json={"name": "dev-admin2", "role": "promoter"})
        assert answer.status_code == 403
        answer = client.post(f"{API}/tokens", json={"name": "same-as-me", "role": "viewer"})
        assert answer.status_code == 201, answer.text


def test_a_project_limited_viewer_reads_only_its_project(scoped: Served) -> None:
    with scoped.client("other-viewer") as client:
        names = [p["metadata"]["name"] for p in client.get(f"{API}/projects").json()["items"]]
        assert names == ["other"]
        records = client.get(f"{API}/audit").json()["items"]
        assert records and {r["project"] for r in records} == {"other"}
        exported = client.get(f"{API}/audit/export").text
        assert '"project":"shop"' not in exported and '"project":""' not in exported
        assert client.get(f"{API}/audit/verify").status_code == 403
        with client.stream("GET", f"{API}/watch", params={"project": "shop"}) as answer:
            assert answer.status_code == 403
        with client.stream("GET", f"{API}/watch") as answer:
            assert answer.status_code == 200
            time.sleep(1)  # the stream subscribes once its first chunk is asked for
            with scoped.client("admin") as admin:  # a change in shop, then one in other
                assert apply(admin, stage_document("shop", "qa")).status_code == 200
                labelled = OTHER.replace("{name: other}", '{name: other, labels: {seen: "1"}}')
                assert apply(admin, labelled).status_code == 200
            data = next(line for line in answer.iter_lines() if line.startswith("data:"))
        assert '"name":"other"' in data and '"namespace":"shop"' not in data


# routes that take their project from the query and check it (the rest filter their answer)
QUERY_SCOPED = {("GET", "/api/v1/watch")}


def expected(permission: Any, who: str | None) -> set[int]:
    """The statuses a caller may get on a route whose permission (in project shop) is given."""
    if who is None:
        return {401}
    if who == "admin":
        return {200, 201, 202, 404, 409, 422, 400}
    verb, project = permission
    if who == "shop-admin":
        return {403} if project == EVERY else {200, 201, 202, 404, 409, 422, 400}
    # other-viewer: reads what is not tied to a project; nothing in shop; nothing everywhere
    if project == "" and verb == "get":
        return {200}
    return {403}


def test_the_route_matrix_follows_each_routes_scope(scoped: Served) -> None:
    routes, promotion = documented_routes_and_a_promotion(scoped)
    routes |= {("GET", "/openapi.json")}  # served, but left out of its own document
    assert routes - {("GET", "/healthz")} == set(ROUTE_PERMISSIONS), "extend ROUTE_PERMISSIONS"
    params = {"project": "shop", "name": "development", "plural": "stages", "delivery_id": "1"}
    problems = []
    for who in (None, "admin", "shop-admin", "other-viewer"):
        with scoped.client(who) as client:
            for (method, path), resolver in sorted(
                ROUTE_PERMISSIONS.items(), key=lambda item: item[0][0] == "DELETE"
            ):
                in_path = {key: value for key, value in params.items() if f"{{{key}}}" in path}
                if (method, path) in QUERY_SCOPED:  # status_of asks for ?project=shop
                    in_path["project"] = "shop"
                needed = resolver(in_path)
                # routes that check in the route act on a stage of the path's project
                scope = (needed.verb, needed.project) if needed else ("promote", "shop")
                url, body = concrete(method, path, scoped, promotion)
                if method == "POST" and path == "/api/v1/apply":
                    body = stage_document("shop", "development")
                status = status_of(client, method, url, body)
                if status not in expected(scope, who):
                    problems.append(f"{method} {path} as {who}: {status}")
    assert not problems, "\n".join(problems)
