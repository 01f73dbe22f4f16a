"""Chart subscriptions: a Helm index.yaml served on loopback, and OCI charts in a real registry."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kargo.engine.chartdiscovery import discover_charts
from kargo.engine.gitdiscovery import DiscoveryError
from kargo.model.warehouse import ChartSubscription
from kargo.steps.repocreds import RegistryCredentials

from tests.pipeline.registry import registry

# Shaped as `helm repo index` writes it (apiVersion, entries by chart name, one item per version).
INDEX = """\
apiVersion: v1
entries:
  podinfo:
  - name: podinfo
    version: 6.5.0
    urls: [podinfo-6.5.0.tgz]
  - name: podinfo
    version: 6.4.1
    urls: [podinfo-6.4.1.tgz]
  - name: podinfo
    version: 7.0.0-rc.1
    urls: [podinfo-7.0.0-rc.1.tgz]
  - name: podinfo
    version: 5.2.0
    urls: [podinfo-5.2.0.tgz]
generated: "2026-01-01T00:00:00Z"
"""
TOKEN = "Basic " + base64.b64encode(b"helm:chart-pass").decode()


@contextmanager
def chart_repository(private: bool = False) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if private and self.headers.get("Authorization") != TOKEN:
                self.send_response(401)
                self.end_headers()
                return
            found = self.path == "/charts/index.yaml"
            body = INDEX.encode() if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/charts"
    finally:
        server.shutdown()
        server.server_close()


def chart(url: str, **fields: object) -> ChartSubscription:
    return ChartSubscription.model_validate({"repoURL": url, "name": "podinfo", **fields})


def test_an_index_yaml_gives_versions_highest_first_within_the_constraint() -> None:
    with chart_repository() as url:
        assert discover_charts(chart(url)).versions == ["6.5.0", "6.4.1", "5.2.0"]
        assert discover_charts(chart(url, semverConstraint="^6.0.0")).versions == ["6.5.0", "6.4.1"]
        assert discover_charts(chart(url, semverConstraint=">=7.0.0-0")).versions == ["7.0.0-rc.1"]
        assert discover_charts(chart(url, discoveryLimit=1)).versions == ["6.5.0"]
        with pytest.raises(DiscoveryError, match="no chart named 'nginx'"):
            discover_charts(chart(url, name="nginx"))
        with pytest.raises(DiscoveryError, match="name is required"):
            discover_charts(ChartSubscription.model_validate({"repoURL": url}))


def test_a_private_chart_repository_needs_its_credentials() -> None:
    with chart_repository(private=True) as url:
        found = discover_charts(chart(url), RegistryCredentials("helm", "chart-pass"))
        assert found.versions[0] == "6.5.0"
        with pytest.raises(DiscoveryError, match="refused the configured credentials"):
            discover_charts(chart(url), RegistryCredentials("helm", "wrong"))


def test_oci_charts_are_listed_from_the_registry(tmp_path: Path) -> None:
    with registry(tmp_path / "registry") as local:
        for version in ("0.1.0", "0.2.0", "0.2.1_build.5"):
            local.push_image("charts/podinfo", version)
        url = f"oci://{local.host}/charts/podinfo"
        found = discover_charts(ChartSubscription.model_validate({"repoURL": url}))
        assert found.name == "podinfo"
        assert found.versions == ["0.2.1+build.5", "0.2.0", "0.1.0"]


def test_an_unreachable_chart_repository_fails_discovery() -> None:
    with chart_repository() as url:
        pass
    with pytest.raises(DiscoveryError, match="is unreachable"):
        discover_charts(chart(url))


def test_a_warehouse_of_git_and_chart_subscriptions_makes_freight_of_both(tmp_path: Path) -> None:
    import asyncio

    from kargo.config import load_text
    from kargo.engine.applying import apply_resources
    from kargo.engine.warehouses import WarehouseReconciler
    from kargo.model.warehouse import Warehouse
    from kargo.store import Store, get_model

    from tests.pipeline.documents import warehouse
    from tests.pipeline.harness import make_repo

    repo = make_repo(tmp_path / "repo")
    store = Store.open(None, tmp_path / "state")
    try:
        with chart_repository() as url:
            subscriptions = f"""\
- git: {{repoURL: {repo}}}
- chart: {{repoURL: {url}, name: podinfo, semverConstraint: ~6.4}}
"""
            text = warehouse("mixed", subscriptions, namespace="shop", interval=None)
            apply_resources(store, load_text(text, default_project="shop"))
            stored = get_model(store, Warehouse, "shop", "mixed")
            assert stored is not None
            reconciler = WarehouseReconciler(store, tmp_path / "state" / "cache")
            freight = asyncio.run(reconciler.reconcile(stored))
        assert freight is not None
        assert [c.model_dump(by_alias=True) for c in freight.charts] == [
            {"repoURL": url, "name": "podinfo", "version": "6.4.1"}
        ]
        assert len(freight.commits) == 1 and freight.commits[0].repo_url == str(repo)
    finally:
        store.close()
