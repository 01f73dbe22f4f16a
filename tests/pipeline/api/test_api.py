"""The API server: apply, list, promote, events, logs, watch and errors over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pipeline.harness import api_server, auth, make_repo, wait_until

API = "/api/v1"


def config_folder(tmp_path: Path, repo: Path) -> Path:
    folder = tmp_path / "kargo"
    folder.mkdir()
    (folder / "project.yaml").write_text(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: shop\n"
    )
    (folder / "warehouse.yaml").write_text(
        f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: app
spec:
  subscriptions:
  - git: {{repoURL: {repo}, branch: main}}
"""
    )
    (folder / "stage.yaml").write_text(
        """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: dev
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: shell
        config: {command: "echo deploying; exit 3"}
"""
    )
    return folder


def test_the_server_applies_its_folder_and_serves_the_pipeline(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with api_server(tmp_path / "state", config_folder(tmp_path, repo)) as (base, _):
        client = httpx.Client(base_url=base, timeout=10, headers=auth(base))
        request_promotion_and_check(client)


def request_promotion_and_check(client: httpx.Client) -> None:
    with client:
        assert client.get(f"{API}/version").json()["apiVersion"] == "kargo.akuity.io/v1alpha1"
        assert [p["metadata"]["name"] for p in client.get(f"{API}/projects").json()["items"]] == [
            "shop"
        ]
        assert "/api/v1/apply" in client.get("/openapi.json").json()["paths"]
        freight = wait_until(
            lambda: client.get(f"{API}/projects/shop/freight").json()["items"], what="freight"
        )[0]
        alias = freight["alias"]
        assert client.get(f"{API}/projects/shop/freight/{alias}").json()["alias"] == alias

        created = client.post(
            f"{API}/projects/shop/promotions", json={"stage": "dev", "freightAlias": alias}
        )
        assert created.status_code == 201, created.text
        name = created.json()["metadata"]["name"]
        promotion = wait_until(
            lambda: (
                (p := client.get(f"{API}/projects/shop/promotions/{name}").json())["status"][
                    "phase"
                ]
                in ("Failed", "Succeeded")
                and p
            ),
            what="the promotion to end",
        )
        assert promotion["status"]["phase"] == "Failed"
        logs = client.get(f"{API}/projects/shop/promotions/{name}/logs").text
        assert "deploying" in logs
        events = client.get(
            f"{API}/projects/shop/events",
            params={"fieldSelector": "involvedObject.kind=Promotion,reason=PromotionFailed"},
        ).json()["items"]
        assert len(events) == 1 and events[0]["count"] == 1
        assert (
            "step 1 (step-0, shell) failed: shell: exit code 3: deploying" in (events[0]["message"])
        )


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server without configuration, shared by the tests that only need the API."""
    with api_server(tmp_path_factory.mktemp("bare") / "state") as (base, _):
        yield base


def test_apply_refuses_an_unknown_field_with_its_line(bare_server: str) -> None:
    response = httpx.post(
        f"{bare_server}{API}/apply",
        content="apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w}\n"
        "spec:\n  intervall: 5m\n",
        headers={"Content-Type": "application/yaml", **auth(bare_server)},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "Invalid"
    assert 'line 5: spec.intervall: unknown field (did you mean "interval"?)' in error["message"]
    assert "spec.intervall" in [d["path"] for d in error["details"]]


def test_unknown_resources_and_bad_promotions_get_contract_errors(bare_server: str) -> None:
    headers = auth(bare_server)
    missing = httpx.get(f"{bare_server}{API}/projects/shop/stages/nope", headers=headers)
    bad = httpx.post(
        f"{bare_server}{API}/projects/shop/promotions", json={"stage": "nope"}, headers=headers
    )
    unknown_kind = httpx.get(f"{bare_server}{API}/projects/shop/gizmos", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    assert bad.status_code == 404 and "kargo get stages" in bad.json()["error"]["message"]
    assert unknown_kind.status_code == 404


def test_watch_streams_added_then_changed_resources(bare_server: str) -> None:
    warehouse = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: w, namespace: shop}
spec:
  interval: 1h
  subscriptions:
  - git: {repoURL: /nonexistent, branch: main}
"""
    base = bare_server
    headers = auth(base)
    assert httpx.post(f"{base}{API}/apply", content=warehouse, headers=headers).status_code == 200
    seen: list[tuple[str, str]] = []
    params = {"project": "shop", "kind": "warehouses"}
    with httpx.stream(
        "GET", f"{base}{API}/watch", params=params, timeout=20, headers=headers
    ) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                body = json.loads(line.removeprefix("data: "))
                seen.append((event, body["metadata"]["name"]))
                if event == "ADDED":
                    httpx.post(f"{base}{API}/projects/shop/warehouses/w/refresh", headers=headers)
                if event == "MODIFIED":
                    break
    assert seen[0] == ("ADDED", "w") and ("MODIFIED", "w") in seen
