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
