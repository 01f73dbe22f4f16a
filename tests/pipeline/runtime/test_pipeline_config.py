"""Planning Poker's pipeline configuration (kargo/) loads, and its steps' configs are valid."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import kargo.runtime  # noqa: F401  (registers the runtime's step kinds)
import pytest
import yaml
from kargo.config.loading import load_path
from kargo.steps.base import step_kinds

from tests.services import REPO_ROOT

OURS = ["warehouse.yaml", "stage.yaml", "promotion.yaml"]
SCHEMAS = Path("/work/shared/schemas/kargo-v1.11.2")


def documents() -> list[dict[str, Any]]:
    """Every document of the three files."""
    found: list[dict[str, Any]] = []
    for name in OURS:
        found += [d for d in yaml.safe_load_all((REPO_ROOT / "kargo" / name).read_text()) if d]
    return found


def test_the_pipeline_files_load_with_the_engine_loader(tmp_path: Path) -> None:
    for name in OURS:
        shutil.copy(REPO_ROOT / "kargo" / name, tmp_path / name)

    loaded = {(r.kind, getattr(r.resource, "name", "")) for r in load_path(tmp_path)}

    assert loaded == {
        ("Project", "planning-poker"),
        ("ProjectConfig", "planning-poker"),
        ("Warehouse", "planning-poker"),
        ("Stage", "development"),
        ("Stage", "production"),
    }


def test_every_promotion_step_config_is_valid_for_its_step_kind() -> None:
    stages = [d for d in documents() if d["kind"] == "Stage"]
    kinds = step_kinds()
    for stage in stages:
        steps = stage["spec"]["promotionTemplate"]["spec"]["steps"]
        assert [s["uses"] for s in steps] == ["git-clone", "build-venv", "deploy"]
        for step in steps:
            kinds[step["uses"]].config_model.model_validate(step["config"])


def test_the_stages_run_on_their_stable_ports_with_their_own_databases() -> None:
    deploys = {
        d["metadata"]["name"]: d["spec"]["promotionTemplate"]["spec"]["steps"][2]["config"]
        for d in documents()
        if d["kind"] == "Stage"
    }

    assert deploys["development"]["port"] == 8101
    assert deploys["production"]["port"] == 8102
    assert deploys["development"]["env"]["DATABASE_URL"] == "sqlite:///${STAGE_DIR}/app.db"
    assert deploys["production"]["env"]["PLANNING_POKER_ENV"] == "production"


@pytest.mark.parametrize("kind", ["Project", "ProjectConfig", "Warehouse", "Stage"])
def test_the_resources_follow_the_kargo_v1_11_schemas(kind: str) -> None:
    if not SCHEMAS.exists():
        pytest.skip("the Kargo v1.11.2 schemas are not on this machine")
    crd = yaml.safe_load((SCHEMAS / f"kargo.akuity.io_{kind.lower()}s.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for document in (d for d in documents() if d["kind"] == kind):
        manifest = copy.deepcopy(document)
        # The local engine reads this repository in place (repoURL "."); Kargo in a cluster needs
        # a URL, which the cluster path (deploy/kubernetes) gives. Check everything else.
        for subscription in manifest.get("spec", {}).get("subscriptions", []):
            subscription["git"]["repoURL"] = "https://example.invalid/planning-poker.git"
        jsonschema.validate(manifest, schema)


def test_production_rolls_out_as_a_canary_with_room_affinity_and_development_blue_green() -> None:
    deploys = {
        d["metadata"]["name"]: d["spec"]["promotionTemplate"]["spec"]["steps"][2]["config"]
        for d in documents()
        if d["kind"] == "Stage"
    }
    steps = deploys["production"]["strategy"]["canary"]["steps"]
    names = [next(iter(step)) for step in steps]
    assert names[0] == "setWeight" and names[-1] == "setWeight" and "analysis" in names
    assert steps[-1]["setWeight"] == 100
    assert deploys["production"]["affinity"]["responseHeader"] == "X-Room-Id"
    assert "blueGreen" in deploys["development"]["strategy"]
    config = next(d for d in documents() if d["kind"] == "ProjectConfig")
    production = next(
        p for p in config["spec"]["promotionPolicies"] if p["stageSelector"]["name"] == "production"
    )
    assert production["autoRollback"] == {
        "onVerification": ["Failed", "Error"],
        "onPromotion": ["Failed", "Errored"],
    }
