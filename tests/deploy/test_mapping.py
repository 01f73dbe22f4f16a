"""The cluster path mirrors the one-machine configuration in kargo/ one to one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.manifests import load_manifests, of_kind, read_documents, repo_deploy_dir
from tests.services import REPO_ROOT

LOCAL_DIR = REPO_ROOT / "kargo"
GUIDE_METRICS = {
    "smoke-tests": "smoke-test-success",
    "security-scan": "vulnerability-check",
    "load-test": "response-time",
}
CLUSTER = load_manifests(repo_deploy_dir())


def local_documents(kind: str) -> list[dict[str, Any]]:
    """The one-machine configuration's documents of one kind."""
    paths = sorted(LOCAL_DIR.glob("*.yaml")) + sorted(LOCAL_DIR.glob("analysis-templates/*.yaml"))
    documents = [d for path in paths for d in read_documents(path) if d.get("kind") == kind]
    if not documents:
        pytest.skip(f"kargo/ has no {kind} yet")
    return documents


def test_the_same_stages_exist_on_one_machine_and_on_the_cluster() -> None:
    local = {d["metadata"]["name"] for d in local_documents("Stage")}
    assert local == {s.name for s in of_kind(CLUSTER, "Stage")}


def test_the_same_templates_carry_the_guides_metrics_in_both_places() -> None:
    local = {d["metadata"]["name"]: d for d in local_documents("AnalysisTemplate")}
    cluster = {t.name: t.document for t in of_kind(CLUSTER, "AnalysisTemplate")}
    assert set(local) == set(cluster) == set(GUIDE_METRICS)
    for template, metric in GUIDE_METRICS.items():
        for document in (local[template], cluster[template]):
            assert metric in {m["name"] for m in document["spec"]["metrics"]}


def test_the_promotion_policies_agree_stage_by_stage() -> None:
    (local_config,) = local_documents("ProjectConfig")
    (cluster_config,) = of_kind(CLUSTER, "ProjectConfig")

    def by_stage(policies: list[dict[str, Any]]) -> dict[str, tuple[bool, Any]]:
        return {
            p.get("stage") or p["stageSelector"]["name"]: (
                p.get("autoPromotionEnabled", False),
                p.get("autoRollback"),
            )
            for p in policies
        }

    assert by_stage(local_config["spec"]["promotionPolicies"]) == by_stage(
        cluster_config.spec["promotionPolicies"]
    )
