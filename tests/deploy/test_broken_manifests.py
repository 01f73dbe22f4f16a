"""A broken manifest fails the checks: each case breaks one thing in a temporary copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deploy.consistency import problems
from tests.deploy.manifests import DEPLOY_DIR, ManifestError, repo_deploy_dir

# (file under deploy/kubernetes, text to replace, replacement, words the complaint must contain)
BREAKAGES = {
    "stage-field-misspelt": (
        "kargo/development.yaml",
        "  verification:\n",
        "  verfication:\n",
        "'verfication' was unexpected",
    ),
    "stage-verifies-with-a-missing-template": (
        "kargo/production.yaml",
        "    - name: load-test\n",
        "    - name: load-tests\n",
        "AnalysisTemplate 'load-tests' does not exist",
    ),
    "promotion-step-field-misspelt": (
        "kargo/development.yaml",
        "          repoURL: ${{ vars.gitRepo }}\n          checkout:",
        "          repoUrl: ${{ vars.gitRepo }}\n          checkout:",
        "git-clone.config",
    ),
    "yaml-update-key-absent": (
        "kargo/production.yaml",
        "key: metadata.annotations.planning-poker/commit",
        "key: metadata.labels.planning-poker/commit",
        "is not in release.yaml",
    ),
    "application-for-an-unauthorized-stage": (
        "argocd/production.yaml",
        "authorized-stage: planning-poker:production",
        "authorized-stage: planning-poker:development",
        "must carry kargo.akuity.io/authorized-stage: planning-poker:production",
    ),
    "application-path-missing": (
        "argocd/development.yaml",
        "path: deploy/kubernetes/app/overlays/development",
        "path: deploy/kubernetes/app/overlays/dev",
        "source.path",
    ),
    "kustomization-resource-missing": (
        "app/base/kustomization.yaml",
        "- rollout.yaml",
        "- rollouts.yaml",
        "resource 'rollouts.yaml' does not exist",
    ),
    "rollout-names-a-missing-service": (
        "app/base/rollout.yaml",
        "canaryService: planning-poker-canary",
        "canaryService: planning-poker-preview",
        "canaryService 'planning-poker-preview'",
    ),
    "prometheus-condition-in-local-cel-form": (
        "analysis/load-test.yaml",
        "successCondition: result[0] < 500",
        "successCondition: result < 500",
        "index it: result[0]",
    ),
    "web-metric-without-url": (
        "analysis/smoke-tests.yaml",
        "        url: http://poker-checks.{{args.namespace}}.svc.cluster.local/smoke\n",
        "",
        "'url' is a required property",
    ),
    "template-uses-an-undeclared-argument": (
        "analysis/security-scan.yaml",
        'commit: "{{args.commit}}"',
        'commit: "{{args.revision}}"',
        "undeclared argument 'revision'",
    ),
    "literal-secret-value": (
        "app/base/rollout.yaml",
        "        - name: SECRET_KEY\n          valueFrom:\n            secretKeyRef:\n"
        "              name: planning-poker-secrets\n              key: SECRET_KEY\n",
        "        - name: SECRET_KEY\n          value: not-so-secret-after-all\n",
        "env SECRET_KEY has a literal value",
    ),
    "policy-for-an-unknown-stage": (
        "kargo/projectconfig.yaml",
        "  - stage: production\n",
        "  - stage: prod\n",
        "promotion policy for unknown Stage 'prod'",
    ),
    "kargo-resource-outside-the-project-namespace": (
        "kargo/warehouse.yaml",
        "  namespace: planning-poker\n",
        "  namespace: default\n",
        "Project namespace",
    ),
}

# The Stage that names an Application is where a wrong authorization shows.
REPORTED_IN = {"application-for-an-unauthorized-stage": "kargo/production.yaml"}


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    """A repository root holding a copy of deploy/kubernetes."""
    shutil.copytree(repo_deploy_dir(), tmp_path / DEPLOY_DIR)
    return tmp_path


def break_file(repo_root: Path, relative: str, old: str, new: str) -> None:
    """Replace text in one copied file; the text must be there (so the case stays meaningful)."""
    path = repo_root / DEPLOY_DIR / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{relative} no longer contains {old!r}: update this test case"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_unchanged_copy_passes_every_check(repo_copy: Path) -> None:
    assert problems(repo_copy) == []


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_a_broken_manifest_is_reported_with_its_file(repo_copy: Path, case: str) -> None:
    relative, old, new, complaint = BREAKAGES[case]
    break_file(repo_copy, relative, old, new)
    found = problems(repo_copy)
    reported_in = REPORTED_IN.get(case, relative)
    assert any(complaint in p and reported_in in p for p in found), "\n".join(found)


def test_an_unused_manifest_file_is_reported(repo_copy: Path) -> None:
    (repo_copy / DEPLOY_DIR / "app" / "base" / "forgotten.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forgotten\n", encoding="utf-8"
    )
    assert any("forgotten.yaml: no kustomization uses this file" in p for p in problems(repo_copy))


def test_a_document_without_a_name_is_reported(repo_copy: Path) -> None:
    break_file(repo_copy, "checks/service.yaml", "  name: poker-checks\n  labels:", "  labels:")
    assert any("missing metadata.name" in p for p in problems(repo_copy))


def test_a_file_that_is_not_yaml_is_refused_with_its_name(repo_copy: Path) -> None:
    break_file(repo_copy, "kargo/warehouse.yaml", "  interval: 5m0s", "  interval: [5m0s")
    with pytest.raises(ManifestError, match="warehouse.yaml"):
        problems(repo_copy)
