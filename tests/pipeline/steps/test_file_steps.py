"""kustomize-set-image, yaml-update and the Argo CD steps on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.steps.argocd import ArgoCDUpdateStep, ArgoCDWaitConfig, ArgoCDWaitStep
from kargo.steps.base import FreightImage, StepPhase
from kargo.steps.kustomize_set_image import KustomizeSetImageConfig, KustomizeSetImageStep
from kargo.steps.yaml_update import YamlUpdateStep

from tests.pipeline.steps.support import context, run

KUSTOMIZATION = """\
# The dev overlay.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../base  # shared base
images:
- name: registry.example.com/shop/web
  newTag: unpromoted
- name: registry.example.com/shop/api
  newName: mirror.example.com/shop/api
  newTag: old
"""


def write(ctx_dir: Path, path: str, text: str) -> Path:
    target = ctx_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def test_set_image_edits_tags_and_digests_keeping_comments(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    file = write(ctx.work_dir, "repo/overlays/dev/kustomization.yaml", KUSTOMIZATION)
    result = run(
        KustomizeSetImageStep(),
        ctx,
        {
            "path": "repo/overlays/dev",
            "images": [
                {"image": "registry.example.com/shop/web", "tag": "1.2.3"},
                {"image": "registry.example.com/shop/api", "digest": "sha256:ab", "newName": "*"},
                {"image": "registry.example.com/shop/new", "tag": "v1"},
            ],
        },
    )
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert (
        file.read_text()
        == """\
# The dev overlay.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../base  # shared base
images:
- name: registry.example.com/shop/api
  newName: mirror.example.com/shop/api
  digest: sha256:ab
- name: registry.example.com/shop/new
  newTag: v1
- name: registry.example.com/shop/web
  newTag: 1.2.3
"""
    )
    assert result.outputs["commitMessage"] == (
        "Updated repo/overlays/dev to use new images\n\n"
        "- mirror.example.com/shop/api@sha256:ab\n"  # Kargo: newName when set
        "- registry.example.com/shop/new:v1\n"
        "- registry.example.com/shop/web:1.2.3"
    )


def test_set_image_without_images_uses_the_freights_images(tmp_path: Path) -> None:
    images = [FreightImage("registry.example.com/shop/web", "2.0.0", "sha256:cd")]
    ctx = context(tmp_path, images=images)
    file = write(ctx.work_dir, "k/kustomization.yaml", "resources: []\n")
    result = run(KustomizeSetImageStep(), ctx, {"path": "k"})
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert "- name: registry.example.com/shop/web\n  newTag: 2.0.0\n" in file.read_text()
    assert result.outputs["commitMessage"].endswith("- registry.example.com/shop/web:2.0.0")


def test_set_image_errors_without_a_kustomization_and_refuses_tag_with_digest(
    tmp_path: Path,
) -> None:
    ctx = context(tmp_path)
    (ctx.work_dir / "empty").mkdir()
    missing = run(KustomizeSetImageStep(), ctx, {"path": "empty", "images": [{"image": "a"}]})
    assert missing.phase is StepPhase.ERRORED
    assert missing.message == "kustomize-set-image: config.path: no kustomization file in 'empty'"
    outside = run(KustomizeSetImageStep(), ctx, {"path": "/etc", "images": [{"image": "a"}]})
    assert (
        outside.phase is StepPhase.FAILED
        and "leaves the promotion's work folder" in outside.message
    )
    with pytest.raises(ValueError, match="tag or digest, not both"):
        KustomizeSetImageConfig.model_validate(
            {"path": "k", "images": [{"image": "a", "tag": "1", "digest": "sha256:x"}]}
        )


VALUES = """\
# Values for dev
image:
  repository: registry.example.com/shop/web   # the web image
  tag: "1.0.0"
metadata:
  annotations:
    example.com/commit: 'none'
replicas: 2
containers:
- name: web
  image: web:1
"""


def test_yaml_update_sets_scalars_keeping_comments_order_and_quotes(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    file = write(ctx.work_dir, "values.yaml", VALUES)
    result = run(
        YamlUpdateStep(),
        ctx,
        {
            "path": "values.yaml",
            "updates": [
                {"key": "image.tag", "value": "1.1.0"},
                {"key": r"metadata.annotations.example\.com/commit", "value": "abc123"},
                {"key": "replicas", "value": 3},
                {"key": "containers.0.image", "value": "web:2"},
            ],
        },
    )
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert file.read_text() == VALUES.replace('"1.0.0"', '"1.1.0"').replace(
        "'none'", "'abc123'"
    ).replace("replicas: 2", "replicas: 3").replace("web:1", "web:2")
    assert result.outputs["commitMessage"] == (
        "Updated values.yaml\n\n- image.tag: 1.1.0\n"
        "- metadata.annotations.example\\.com/commit: abc123\n- replicas: 3\n"
        "- containers.0.image: web:2"
    )


def test_yaml_update_errors_on_a_missing_file_or_key_and_fails_on_a_mapping_value(
    tmp_path: Path,
) -> None:
    ctx = context(tmp_path)
    missing = run(
        YamlUpdateStep(), ctx, {"path": "nope.yaml", "updates": [{"key": "a", "value": 1}]}
    )
    assert missing.phase is StepPhase.ERRORED
    assert missing.message == "yaml-update: config.path: 'nope.yaml': no such file"
    write(ctx.work_dir, "v.yaml", VALUES)
    no_key = run(
        YamlUpdateStep(), ctx, {"path": "v.yaml", "updates": [{"key": "image.nope", "value": 1}]}
    )
    assert no_key.phase is StepPhase.ERRORED and "config.updates[0].key" in no_key.message
    mapping = run(
        YamlUpdateStep(), ctx, {"path": "v.yaml", "updates": [{"key": "image", "value": "x"}]}
    )
    assert mapping.phase is StepPhase.FAILED and "holds a mapping" in mapping.message
    listed = run(
        YamlUpdateStep(), ctx, {"path": "v.yaml", "updates": [{"key": "replicas", "value": [1]}]}
    )
    assert listed.phase is StepPhase.FAILED and "config.updates[0].value" in listed.message
    write(ctx.work_dir, "bad.yaml", "a: [\n")
    broken = run(YamlUpdateStep(), ctx, {"path": "bad.yaml", "updates": [{"key": "a", "value": 1}]})
    assert broken.phase is StepPhase.ERRORED and "not valid YAML" in broken.message


def test_argocd_steps_fail_naming_the_application_and_the_cluster_path(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    update = run(
        ArgoCDUpdateStep(),
        ctx,
        {
            "apps": [
                {
                    "name": "shop-dev",
                    "sources": [
                        {"repoURL": "https://git.example.com/shop.git", "desiredRevision": "abc"}
                    ],
                }
            ]
        },
    )
    assert update.phase is StepPhase.FAILED
    assert "Application argocd/shop-dev" in update.message
    assert "runs no Argo CD" in update.message and "deploy/kubernetes/" in update.message
    assert update.outputs == {"apps": [{"name": "shop-dev", "namespace": "argocd"}]}
    wait = run(ArgoCDWaitStep(), ctx, {"apps": [{"name": "shop-dev", "namespace": "cd"}]})
    assert wait.phase is StepPhase.FAILED and "Application cd/shop-dev" in wait.message
    assert ArgoCDWaitConfig.model_validate({"apps": [{"name": "a"}]}).apps[0].wait_for == [
        "health",
        "sync",
        "operation",
    ]
    with pytest.raises(ValueError, match="exactly one of name or selector"):
        ArgoCDWaitConfig.model_validate({"apps": [{"namespace": "x"}]})


def test_image_from_renders_the_freights_image_into_a_step_config(tmp_path: Path) -> None:
    from kargo.steps.base import FreightChart
    from kargo.steps.expressions import render

    ctx = context(
        tmp_path, images=[FreightImage("registry.example.com/shop/web", "2.1.0", "sha256:ef")]
    )
    ctx.charts = [FreightChart("oci://charts.example.com/shop", "web", "0.3.0")]
    config = render(
        {
            "path": "k",
            "images": [
                {
                    "image": "registry.example.com/shop/web",
                    "tag": "${{ imageFrom('registry.example.com/shop/web').Tag }}",
                }
            ],
            "digest": "${{ imageFrom('registry.example.com/shop/web').Digest }}",
            "chart": "${{ chartFrom('oci://charts.example.com/shop', 'web').Version }}",
        },
        ctx,
    )
    assert config["images"][0]["tag"] == "2.1.0"
    assert config["digest"] == "sha256:ef" and config["chart"] == "0.3.0"
