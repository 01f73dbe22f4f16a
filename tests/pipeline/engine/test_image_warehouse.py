"""An image Warehouse with credentials from a configuration folder's cred-type Secret."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from kargo.config import ConfigError, load_path, load_text
from kargo.engine.applying import apply_resources
from kargo.engine.warehouses import WarehouseReconciler
from kargo.model.freight import Freight
from kargo.model.warehouse import Warehouse
from kargo.steps.repocreds import git_credentials, registry_credentials
from kargo.steps.secretstore import describe
from kargo.store import Store, get_model, list_models

from tests.pipeline.documents import documents, stage, warehouse
from tests.pipeline.registry import PASSWORD, USER, registry

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: registry-creds
  namespace: shop
  labels:
    kargo.akuity.io/cred-type: image
stringData:
  repoURL: {host}/team/private
  username: {user}
  password: {password}
---
apiVersion: v1
kind: Secret
metadata:
  name: git-creds
  namespace: shop
  labels:
    kargo.akuity.io/cred-type: git
data:
  repoURLPattern: Xmh0dHBzOi8vZ2l0XC5leGFtcGxlXC5jb20vLio=
  username: Ym90
  password: Z2l0LXRva2Vu
"""

WAREHOUSE = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: shop
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: images
  namespace: shop
spec:
  interval: 1h
  subscriptions:
  - image:
      repoURL: {host}/team/private
      constraint: ^1.0.0
"""


def test_an_image_warehouse_makes_freight_with_credentials_kept_secret(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = tmp_path / "config"
    config.mkdir()
    with registry(tmp_path / "registry", token_auth=True) as secured:
        secured.push_image("team/private", "1.0.0")
        newest = secured.push_image("team/private", "1.1.0")
        secured.push_image("team/private", "2.0.0")
        host = secured.host
        (config / "secrets.yaml").write_text(SECRET.format(host=host, user=USER, password=PASSWORD))
        (config / "warehouse.yaml").write_text(WAREHOUSE.format(host=host))
        store = Store.open(None, state)
        try:
            results = apply_resources(store, load_path(config), source="config", state_dir=state)
            assert {(r.kind, r.name) for r in results} >= {
                ("Secret", "registry-creds"),
                ("Secret", "git-creds"),
                ("Warehouse", "images"),
            }
            assert store.list("Secret", "shop") == []  # never in the resource store
            secret_file = state / "secrets" / "shop" / "registry-creds" / "password"
            assert secret_file.read_text() == PASSWORD
            assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
            assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
            assert PASSWORD not in repr(load_path(config))
            assert describe(state, "shop") == [
                {
                    "credType": "git",
                    "keys": ["password", "repoURLPattern", "username"],
                    "name": "git-creds",
                },
                {
                    "credType": "image",
                    "keys": ["password", "repoURL", "username"],
                    "name": "registry-creds",
                },
            ]
            creds = git_credentials(state, "shop", "https://git.example.com/shop/app.git")
            assert creds is not None and creds.password == "git-token"
            assert registry_credentials(state, "shop", "image", f"{host}/team/other") is None

            warehouse = get_model(store, Warehouse, "shop", "images")
            assert warehouse is not None
            created = asyncio.run(WarehouseReconciler(store, state / "cache").reconcile(warehouse))
            assert created is not None
            assert [i.model_dump(by_alias=True) for i in created.images] == [
                {
                    "repoURL": f"{host}/team/private",
                    "tag": "1.1.0",
                    "digest": newest,
                    "annotations": {},
                }
            ]
            assert [f.name for f in list_models(store, Freight, "shop")] == [created.name]
            events = store.events("shop")
            assert events and all(PASSWORD not in str(e) for e in events)
            assert any(f"image {host}/team/private:1.1.0" in str(e) for e in events)
        finally:
            store.close()


def test_secrets_are_refused_through_the_api_and_a_bad_cred_type_is_named(tmp_path: Path) -> None:
    store = Store.open(None, tmp_path / "state")
    try:
        loaded = load_text(SECRET.format(host="r.example", user="u", password="p"))
        with pytest.raises(ConfigError, match="accepted only in the configuration folder"):
            apply_resources(store, loaded)
        bad = SECRET.replace("cred-type: image", "cred-type: ftp")
        with pytest.raises(ConfigError, match="expected one of git, image, helm, generic"):
            apply_resources(
                store,
                load_text(bad.format(host="r", user="u", password="p")),
                state_dir=tmp_path / "state",
            )
        with pytest.raises(ConfigError) as wrong:
            load_text(
                SECRET.replace("  password: {password}", "  password: [1]").format(
                    host="r", user="u"
                )
            )
        assert "<hidden>" in str(wrong.value)
    finally:
        store.close()


def mixed(repo: Path, image: str) -> str:
    """A warehouse of a commit and an image, and a stage writing both into values.yaml."""
    steps = f"""\
- uses: git-clone
  config:
    repoURL: {repo}
    checkout:
    - fromFreight: true
      path: ./src
- uses: yaml-update
  config:
    path: ./src/values.yaml
    updates:
    - key: image.tag
      value: ${{{{ imageFrom("{image}").Tag }}}}
    - key: image.digest
      value: ${{{{ imageFrom("{image}").Digest }}}}
    - key: commit
      value: ${{{{ commitFrom("{repo}").ID }}}}
- uses: compose-output
  as: summary
  config:
    values: ${{{{ outputs["step-1"].commitMessage }}}}
"""
    subscriptions = f"- git: {{repoURL: {repo}}}\n- image: {{repoURL: {image}}}"
    return documents(
        warehouse("mixed", subscriptions, namespace="shop", interval=None),
        stage("dev", steps, warehouse="mixed", namespace="shop"),
    )


def test_freight_of_a_commit_and_an_image_promotes_with_commit_from_and_image_from(
    tmp_path: Path,
) -> None:
    from kargo.engine.promoting import PromotionRequest, request_promotion

    from tests.pipeline.harness import commit, make_repo, running_engine, wait_until

    repo = make_repo(tmp_path / "repo")
    head = commit(repo, "values.yaml", "image:\n  tag: none\n  digest: none\ncommit: none\n", "v")
    state = tmp_path / "state"
    with registry(tmp_path / "registry") as local:
        image = f"{local.host}/shop/app"
        digest = local.push_image("shop/app", "3.1.4")
        store = Store.open(None, state)
        try:
            apply_resources(store, load_text(mixed(repo, image), default_project="shop"))
            with running_engine(store, state):
                freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
                assert freight.commits[0].id == head and freight.images[0].tag == "3.1.4"
                request_promotion(store, PromotionRequest("shop", "dev", freight.name))

                def finished() -> dict[str, object] | None:
                    found = store.list("Promotion", "shop")
                    done = [
                        p
                        for p in found
                        if p["status"].get("phase") not in (None, "Pending", "Running")
                    ]
                    return done[0] if done else None

                promotion = wait_until(finished, what="the promotion")
            status = promotion["status"]
            assert isinstance(status, dict)
            assert status["phase"] == "Succeeded", status["message"]
            summary = status["state"]["summary"]["values"]
            assert summary == (
                "Updated ./src/values.yaml\n\n- image.tag: 3.1.4\n"
                f"- image.digest: {digest}\n- commit: {head}"
            )
        finally:
            store.close()
