"""What `kubectl kustomize` renders for each folder is what each Stage needs, in its namespace.

kubectl's built-in kustomize renders offline. kubectl comes with this kind of machine (it has no
Debian package to install it from), so these tests skip when it is absent, except under CI=true,
where a missing kubectl is a failure like any missing service.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import crds
from tests.deploy.manifests import DEPLOY_DIR, ManifestError, kubectl, kustomize_build
from tests.deploy.manifests import repo_deploy_dir as deploy_dir
from tests.services import require_binary


@pytest.fixture(autouse=True)
def _needs_kubectl() -> None:
    """Fail under CI=true, skip elsewhere, when kubectl is not installed."""
    if kubectl() is None:
        require_binary("kubectl")


CLUSTER_SCOPED = {"Project", "Namespace"}


@cache
def render(relative: str) -> list[dict[str, Any]]:
    """The rendered documents of one kustomization folder (rendered once per run; read only)."""
    return kustomize_build(deploy_dir() / relative)


def named(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The rendered documents of one kind, by name."""
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


@pytest.mark.parametrize("stage", ["development", "production"])
def test_each_overlay_renders_everything_its_rollout_needs_in_the_stage_namespace(
    stage: str,
) -> None:
    documents = render(f"app/overlays/{stage}")
    assert {d["metadata"].get("namespace") for d in documents} == {f"planning-poker-{stage}"}
    rollout = named(documents, "Rollout")["planning-poker"]
    templates = named(documents, "AnalysisTemplate")
    services = named(documents, "Service")
    referenced = {
        t["templateName"]
        for step in rollout["spec"]["strategy"].get("canary", {}).get("steps", [])
        for t in step.get("analysis", {}).get("templates", [])
    } | {
        t["templateName"]
        for t in rollout["spec"]["strategy"]
        .get("blueGreen", {})
        .get("prePromotionAnalysis", {})
        .get("templates", [])
    }
    assert referenced and referenced <= set(templates)
    assert {"planning-poker", "planning-poker-canary", "poker-checks"} <= set(services)
    for template in templates.values():
        assert crds.schema_errors(template) == []
    images = [c["image"] for c in rollout["spec"]["template"]["spec"]["containers"]]
    assert images == ["registry.example.com/planning-poker/app:unpromoted"]


def test_development_runs_one_replica_blue_green_and_production_three_as_a_canary() -> None:
    development = named(render("app/overlays/development"), "Rollout")["planning-poker"]["spec"]
    production = named(render("app/overlays/production"), "Rollout")["planning-poker"]["spec"]
    assert development["replicas"] == 1
    assert set(development["strategy"]) == {"blueGreen"}
    assert development["strategy"]["blueGreen"]["activeService"] == "planning-poker"
    assert production["replicas"] == 3
    assert set(production["strategy"]) == {"canary"}
    config = named(render("app/overlays/development"), "ConfigMap")["planning-poker-config"]
    assert config["data"]["PLANNING_POKER_ENV"] == "development"


def test_the_kargo_folder_puts_everything_in_the_project_namespace() -> None:
    documents = render("kargo")
    for document in documents:
        namespace = document["metadata"].get("namespace")
        if document["kind"] in CLUSTER_SCOPED:
            assert namespace is None
        else:
            assert namespace == "planning-poker", document["metadata"]["name"]
        if crds.validator_for(document["apiVersion"], document["kind"]) is not None:
            assert crds.schema_errors(document) == []
    assert set(named(documents, "AnalysisTemplate")) == {
        "smoke-tests",
        "security-scan",
        "load-test",
    }
    assert set(named(documents, "Stage")) == {"development", "production"}


def test_the_argocd_folder_puts_one_application_per_stage_in_argocd() -> None:
    applications = named(render("argocd"), "Application")
    assert set(applications) == {"planning-poker-development", "planning-poker-production"}
    for name, application in applications.items():
        stage = name.removeprefix("planning-poker-")
        assert application["metadata"]["namespace"] == "argocd"
        annotations = application["metadata"]["annotations"]
        assert annotations["kargo.akuity.io/authorized-stage"] == f"planning-poker:{stage}"


def test_an_overlay_whose_patch_names_a_missing_file_does_not_render(tmp_path: Path) -> None:
    shutil.copytree(deploy_dir(), tmp_path / DEPLOY_DIR)
    overlay = tmp_path / DEPLOY_DIR / "app" / "overlays" / "production"
    (overlay / "release.yaml").unlink()
    with pytest.raises(ManifestError, match="release.yaml"):
        kustomize_build(overlay)
