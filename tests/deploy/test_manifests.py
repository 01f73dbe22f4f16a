"""The cluster manifests are valid for Kargo v1.11, Argo Rollouts and Argo CD, and agree."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy import crds
from tests.deploy.consistency import problems
from tests.deploy.manifests import Manifest, load_manifests, of_kind, repo_deploy_dir
from tests.services import REPO_ROOT

MANIFESTS = load_manifests(repo_deploy_dir())
SCHEMA_CHECKED = [
    m for m in MANIFESTS if not m.is_patch and crds.validator_for(m.api_version, m.kind) is not None
]


def only(kind: str, name: str) -> Manifest:
    """The one resource of that kind and name."""
    matches = [m for m in of_kind(MANIFESTS, kind) if m.name == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def metric(template: str, name: str) -> dict[str, Any]:
    """One metric of one AnalysisTemplate."""
    metrics = only("AnalysisTemplate", template).spec["metrics"]
    return next(m for m in metrics if m["name"] == name)


@pytest.mark.parametrize("manifest", SCHEMA_CHECKED, ids=lambda m: f"{m.kind}-{m.name}")
def test_each_kargo_and_analysis_document_matches_its_upstream_crd_schema(
    manifest: Manifest,
) -> None:
    assert crds.schema_errors(manifest.document) == []


def test_every_kargo_kind_and_the_analysis_templates_are_schema_checked() -> None:
    kinds = {m.kind for m in SCHEMA_CHECKED}
    assert {"Project", "ProjectConfig", "Warehouse", "Stage", "AnalysisTemplate"} <= kinds
    assert len(SCHEMA_CHECKED) == 8


def test_the_manifests_are_complete_and_consistent_with_each_other() -> None:
    assert problems(REPO_ROOT) == []


def test_the_canary_goes_10_percent_pause_analysis_50_then_100() -> None:
    canary = only("Rollout", "planning-poker").spec["strategy"]["canary"]
    shape = [next(iter(step)) for step in canary["steps"]]
    assert shape == ["setWeight", "pause", "analysis", "setWeight", "setWeight"]
    assert [s["setWeight"] for s in canary["steps"] if "setWeight" in s] == [10, 50, 100]
    analysis = canary["steps"][2]["analysis"]
    assert [t["templateName"] for t in analysis["templates"]] == ["smoke-tests", "load-test"]
    assert (canary["stableService"], canary["canaryService"]) == (
        "planning-poker",
        "planning-poker-canary",
    )


def test_the_app_probes_readyz_and_healthz_and_takes_its_secrets_from_a_secret() -> None:
    container = only("Rollout", "planning-poker").spec["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    env = {e["name"]: e for e in container["env"]}
    for name in ("SECRET_KEY", "DATABASE_URL"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {
            "name": "planning-poker-secrets",
            "key": name,
        }
    assert container["envFrom"] == [{"configMapRef": {"name": "planning-poker-config"}}]
    assert not of_kind(MANIFESTS, "Secret")


def test_the_templates_carry_the_guides_metrics_with_argo_rollouts_conditions() -> None:
    smoke = metric("smoke-tests", "smoke-test-success")
    assert smoke["successCondition"] == "result.passed == true"
    assert smoke["provider"]["web"]["url"].startswith("http://poker-checks.")
    assert smoke["provider"]["web"]["url"].endswith(".svc.cluster.local/smoke")
    security = metric("security-scan", "vulnerability-check")
    assert security["successCondition"] == "result.critical == 0"
    assert security["provider"]["web"]["url"].endswith("/security")
    response_time = metric("load-test", "response-time")
    assert response_time["successCondition"] == "result[0] < 500"
    assert (
        "http_request_duration_seconds_bucket" in response_time["provider"]["prometheus"]["query"]
    )
    for template in of_kind(MANIFESTS, "AnalysisTemplate"):
        assert template.api_version == "argoproj.io/v1alpha1"


def test_production_is_promoted_automatically_and_development_by_hand() -> None:
    policies = {
        p["stage"]: p for p in only("ProjectConfig", "planning-poker").spec["promotionPolicies"]
    }
    assert policies["production"]["autoPromotionEnabled"] is True
    assert policies["development"]["autoPromotionEnabled"] is False
    assert policies["production"]["autoRollback"]["onVerification"] == ["Failed", "Error"]


def test_the_warehouse_makes_freight_from_commits_on_main_under_app() -> None:
    (subscription,) = only("Warehouse", "planning-poker").spec["subscriptions"]
    assert subscription["git"]["branch"] == "main"
    assert subscription["git"]["includePaths"] == ["app/"]


@pytest.mark.parametrize("stage", ["development", "production"])
def test_each_stage_promotes_through_git_and_argo_cd_and_verifies_three_ways(stage: str) -> None:
    spec = only("Stage", stage).spec
    steps = [step["uses"] for step in spec["promotionTemplate"]["spec"]["steps"]]
    assert steps == [
        "git-clone",
        "kustomize-set-image",
        "yaml-update",
        "git-commit",
        "git-push",
        "argocd-update",
    ]
    templates = [t["name"] for t in spec["verification"]["analysisTemplates"]]
    assert templates == ["smoke-tests", "security-scan", "load-test"]
    namespace = next(a for a in spec["verification"]["args"] if a["name"] == "namespace")
    assert namespace["value"] == f"planning-poker-{stage}"


def test_production_takes_only_freight_that_passed_development() -> None:
    (request,) = only("Stage", "production").spec["requestedFreight"]
    assert request["sources"] == {"stages": ["development"]}
    (request,) = only("Stage", "development").spec["requestedFreight"]
    assert request["sources"] == {"direct": True}
