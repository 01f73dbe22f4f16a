"""The proof: deploy/kubernetes/kargo/ runs in the local engine up to the cluster boundary.

The cluster pipeline's configuration is loaded unchanged. Its repository URL
(https://git.example.com/planning-poker/planning-poker.git) is pointed at a local bare clone of
this repository with git's own `url.<base>.insteadOf` (as a team would mirror a remote), and a
local registry (docker-registry on loopback) holds the `app:<commit>` image the overlays will
name. A promotion of each Stage runs git-clone, kustomize-set-image, yaml-update, git-commit and
git-push for real, and argocd-update fails with its clear message: there is no Argo CD here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from kargo.config import load_path
from kargo.engine.applying import apply_resources
from kargo.engine.approvals import approve_freight
from kargo.engine.oci import ImageRepository, RegistryClient
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.model.freight import Freight
from kargo.store import Store, list_models

from tests.pipeline.harness import running_engine, wait_until
from tests.pipeline.registry import registry
from tests.services import REPO_ROOT

GIT_URL = "https://git.example.com/planning-poker/planning-poker.git"
PROJECT = "planning-poker"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bare clone of this repository whose main is the commit under test, behind GIT_URL."""
    bare = tmp_path / "planning-poker.git"
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", "--shared", str(REPO_ROOT), str(bare)], check=True
    )
    head = git(REPO_ROOT, "rev-parse", "HEAD")
    git(bare, "update-ref", "refs/heads/main", head)
    git(bare, "symbolic-ref", "HEAD", "refs/heads/main")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.{bare}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", GIT_URL)
    return bare


def promotion_of(store: Store, stage: str) -> dict[str, object] | None:
    for body in store.list("Promotion", PROJECT):
        if body["spec"]["stage"] == stage and body["status"].get("phase") in (
            "Failed",
            "Errored",
            "Succeeded",
        ):
            return body
    return None


def overlay_file(bare: Path, stage: str, name: str) -> dict[str, object]:
    text = git(bare, "show", f"main:deploy/kubernetes/app/overlays/{stage}/{name}")
    return dict(yaml.safe_load(text))


def test_each_cluster_stage_promotes_up_to_argocd_update(tmp_path: Path, remote: Path) -> None:
    state = tmp_path / "state"
    store = Store.open(None, state)
    start = git(remote, "rev-parse", "main")
    try:
        with registry(tmp_path / "registry") as local_registry:
            apply_resources(
                store, load_path(REPO_ROOT / "deploy/kubernetes/kargo"), state_dir=state
            )
            with running_engine(store, state):
                freight = wait_until(
                    lambda: list_models(store, Freight, PROJECT), timeout=60, what="freight"
                )[0]
                commit = freight.commits[0].id
                assert freight.commits[0].repo_url == GIT_URL
                image = local_registry.push_image("planning-poker/app", commit)

                for stage in ("development", "production"):
                    if stage == "production":
                        approve_freight(store, PROJECT, freight.name, stage, "tester")
                    request_promotion(store, PromotionRequest(PROJECT, stage, freight.name))
                    done = wait_until(
                        lambda s=stage: promotion_of(store, s), timeout=60, what=stage
                    )
                    status = done["status"]
                    assert isinstance(status, dict)
                    steps = {m["alias"]: m["status"] for m in status["stepExecutionMetadata"]}
                    assert status["phase"] == "Failed", status["message"]
                    assert list(steps.values()) == ["Succeeded"] * 5 + ["Failed"], steps
                    assert f"Application argocd/planning-poker-{stage}" in status["message"]
                    assert "runs no Argo CD" in status["message"]

                    kustomization = overlay_file(remote, stage, "kustomization.yaml")
                    tags = {i["name"]: i.get("newTag") for i in kustomization["images"]}  # type: ignore[index, union-attr]
                    assert tags == {
                        "registry.example.com/planning-poker/app": commit,
                        "registry.example.com/planning-poker/checks": commit,
                    }
                    release = overlay_file(remote, stage, "release.yaml")
                    assert release["metadata"]["annotations"]["planning-poker/commit"] == commit  # type: ignore[index]
                    message = git(remote, "log", "-1", "--format=%B", "main")
                    assert message.startswith(
                        f"{stage}: Updated ./repo/deploy/kubernetes/app/overlays/{stage}"
                    )
                    assert f"(freight {freight.name})" in message
                    pushed = status["state"]["push"]["commit"]  # type: ignore[index]
                    assert git(remote, "rev-parse", "main") == pushed

                assert git(remote, "rev-list", "--count", f"{start}..main") == "2"
                with RegistryClient(
                    ImageRepository(local_registry.host, "planning-poker/app")
                ) as client:
                    assert client.manifest(commit).digest == image  # the overlays name a real image
    finally:
        store.close()
