"""A pipeline shaped like Kargo's quickstart, on one machine minus Argo CD.

An image Warehouse watches a repository in a real registry (docker-registry on loopback); three
Stages (test, uat, prod) each render the kustomize base with the freight's image into their own
`stage/<name>` branch (git-clone with create, git-clear, kustomize-set-image, kustomize-build,
git-commit, git-push); test takes freight from the Warehouse, uat from test, prod from uat, and
auto-promotion carries each new image down the line. Source: the quickstart's Warehouse and
promotion template (docs/docs/quickstart, akuity/kargo), with argocd-update left out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.operations import refresh_warehouse
from kargo.model.freight import Freight
from kargo.store import Store, list_models

from tests.pipeline.harness import running_engine, wait_until
from tests.pipeline.registry import registry
from tests.services import require_binary

pytestmark = [pytest.mark.e2e]

BASE = {
    "base/kustomization.yaml": "resources:\n- deploy.yaml\n",
    "base/deploy.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: guestbook\nspec:\n"
        "  template:\n    spec:\n      containers:\n      - name: guestbook\n"
        "        image: {image}:placeholder\n"
    ),
    "stages/{stage}/kustomization.yaml": "resources:\n- ../../base\nnamespace: guestbook-{stage}\n",
}

PIPELINE = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: kargo-demo
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata:
  name: kargo-demo
  namespace: kargo-demo
spec:
  promotionPolicies:
  - stage: test
    autoPromotionEnabled: true
  - stage: uat
    autoPromotionEnabled: true
  - stage: prod
    autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: kargo-demo
  namespace: kargo-demo
spec:
  interval: 1h
  subscriptions:
  - image:
      repoURL: {image}
      constraint: ^1.26.0
      discoveryLimit: 5
"""

STAGE = """\
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: {stage}
  namespace: kargo-demo
spec:
  requestedFreight:
  - origin:
      kind: Warehouse
      name: kargo-demo
    sources:
      {sources}
  promotionTemplate:
    spec:
      vars:
      - name: gitRepo
        value: {repo}
      - name: imageRepo
        value: {image}
      steps:
      - uses: git-clone
        config:
          repoURL: ${{{{ vars.gitRepo }}}}
          checkout:
          - branch: main
            path: ./src
          - branch: stage/${{{{ ctx.stage }}}}
            create: true
            path: ./out
      - uses: git-clear
        config:
          path: ./out
      - uses: kustomize-set-image
        as: update
        config:
          path: ./src/base
          images:
          - image: ${{{{ vars.imageRepo }}}}
            tag: ${{{{ imageFrom(vars.imageRepo).Tag }}}}
      - uses: kustomize-build
        config:
          path: ./src/stages/${{{{ ctx.stage }}}}
          outPath: ./out/manifests.yaml
      - uses: git-commit
        as: commit
        config:
          path: ./out
          message: ${{{{ outputs.update.commitMessage }}}}
      - uses: git-push
        config:
          path: ./out
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.test", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def gitops_repo(tmp_path: Path, image: str) -> Path:
    """The quickstart's GitOps repository: a kustomize base and one overlay per stage."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    for stage in ("test", "uat", "prod"):
        for path, text in BASE.items():
            target = seed / path.format(stage=stage)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text.format(stage=stage, image=image))
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "guestbook")
    bare = tmp_path / "gitops.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    return bare


def promotions(store: Store) -> list[str]:
    """Each promotion's stage, phase and message (shown when a wait times out)."""
    return [
        f"{p['spec']['stage']}: {p['status'].get('phase')} {p['status'].get('message', '')}"
        for p in store.list("Promotion", "kargo-demo")
    ]


def wait_for_image(store: Store, bare: Path, stage: str, wanted: str) -> None:
    """Wait until the stage's branch renders the image, or fail listing the promotions."""
    try:
        wait_until(lambda: rendered_image(bare, stage) == wanted, timeout=30, what=stage)
    except AssertionError:
        found = rendered_image(bare, stage)
        raise AssertionError(
            f"{stage} renders {found}, not {wanted}: {promotions(store)}"
        ) from None


def rendered_image(bare: Path, stage: str) -> str | None:
    try:
        text = git(bare, "show", f"stage/{stage}:manifests.yaml")
    except subprocess.CalledProcessError:
        return None
    document = yaml.safe_load(text)
    return str(document["spec"]["template"]["spec"]["containers"][0]["image"])


def test_a_new_image_flows_through_test_uat_and_prod_branches(tmp_path: Path) -> None:
    require_binary("kubectl")
    state = tmp_path / "state"
    with registry(tmp_path / "registry") as local:
        image = f"{local.host}/nginx/nginx"
        local.push_image("nginx/nginx", "1.25.0")
        local.push_image("nginx/nginx", "1.26.0")
        repo = gitops_repo(tmp_path, image)
        text = PIPELINE.format(image=image)
        sources = {"test": "direct: true", "uat": "stages: [test]", "prod": "stages: [uat]"}
        for stage, source in sources.items():
            text += STAGE.format(stage=stage, sources=source, repo=repo, image=image)
        store = Store.open(None, state)
        try:
            apply_resources(store, load_text(text), state_dir=state)
            with running_engine(store, state):
                for stage in ("test", "uat", "prod"):
                    wait_for_image(store, repo, stage, f"{image}:1.26.0")
                local.push_image("nginx/nginx", "1.26.1")
                refresh_warehouse(store, "kargo-demo", "kargo-demo", "tester")
                for stage in ("test", "uat", "prod"):
                    wait_for_image(store, repo, stage, f"{image}:1.26.1")
                freight = list_models(store, Freight, "kargo-demo")
                assert sorted(f.images[0].tag for f in freight) == ["1.26.0", "1.26.1"]
            log = git(repo, "log", "--format=%s", "stage/prod")
            assert log.splitlines() == [
                "Updated ./src/base to use new image",
                "Updated ./src/base to use new image",
            ]
            assert (
                git(repo, "rev-list", "--max-parents=0", "stage/prod")
                == git(repo, "rev-list", "stage/prod").splitlines()[-1]
            )
            assert git(repo, "show", "main:base/deploy.yaml").endswith(f"{image}:placeholder")
        finally:
            store.close()
