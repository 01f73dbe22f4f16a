"""kustomize-build (real kubectl kustomize), helm-template without helm, tar/untar, yaml-merge,
helm-update-chart and compose-output."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest
from kargo.steps.archives import TarStep, UntarStep
from kargo.steps.base import FreightChart, StepPhase
from kargo.steps.flow import ComposeOutputStep, HelmUpdateChartStep, YamlMergeStep
from kargo.steps.renderers import HelmTemplateStep, KustomizeBuildStep

from tests.pipeline.steps.support import context, run
from tests.services import require_binary

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
- deploy.yaml
images:
- name: web
  newTag: "2.0"
"""
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: web:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: web
"""


def test_kustomize_build_renders_to_a_file_and_to_one_file_per_resource(tmp_path: Path) -> None:
    require_binary("kubectl")
    ctx = context(tmp_path)
    (ctx.work_dir / "k").mkdir()
    (ctx.work_dir / "k/kustomization.yaml").write_text(KUSTOMIZATION)
    (ctx.work_dir / "k/deploy.yaml").write_text(DEPLOY)
    single = run(KustomizeBuildStep(), ctx, {"path": "k", "outPath": "out/all.yaml"})
    assert single.phase is StepPhase.SUCCEEDED, single.message
    assert "image: web:2.0" in (ctx.work_dir / "out/all.yaml").read_text()
    split = run(KustomizeBuildStep(), ctx, {"path": "k", "outPath": "rendered"})
    assert split.phase is StepPhase.SUCCEEDED, split.message
    assert sorted(p.name for p in (ctx.work_dir / "rendered").iterdir()) == [
        "shop-deployment-web.yaml",
        "shop-service-web.yaml",
    ]
    (ctx.work_dir / "k/deploy.yaml").write_text("kind: [broken\n")
    broken = run(KustomizeBuildStep(), ctx, {"path": "k", "outPath": "x.yaml"})
    assert broken.phase is StepPhase.FAILED and "kubectl failed" in broken.message


def test_helm_template_without_helm_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("helm"):
        monkeypatch.setenv("PATH", "/nonexistent")
    ctx = context(tmp_path)
    (ctx.work_dir / "chart").mkdir()
    (ctx.work_dir / "chart/Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    result = run(HelmTemplateStep(), ctx, {"path": "chart", "outPath": "out", "releaseName": "web"})
    assert result.phase is StepPhase.ERRORED
    assert (
        result.message
        == "helm-template: helm is not on PATH: install Helm 3 (https://helm.sh/docs/intro/install/)"
    )


def test_tar_then_untar_with_ignore_and_strip_components(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    for name in ("site/index.html", "site/assets/app.js", "site/notes.tmp"):
        (ctx.work_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx.work_dir / name).write_text(name)
    packed = run(
        TarStep(), ctx, {"inPath": "site", "outPath": "site.tgz", "gzip": True, "ignore": "*.tmp"}
    )
    assert packed.phase is StepPhase.SUCCEEDED and packed.message == "archived 2 file(s)"
    unpacked = run(
        UntarStep(), ctx, {"inPath": "site.tgz", "outPath": "copy", "stripComponents": 1}
    )
    assert unpacked.phase is StepPhase.SUCCEEDED, unpacked.message
    assert (ctx.work_dir / "copy/app.js").read_text() == "site/assets/app.js"

    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as archive:
        info = tarfile.TarInfo("../../escape.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    (ctx.work_dir / "evil.tar").write_bytes(evil.getvalue())
    refused = run(UntarStep(), ctx, {"inPath": "evil.tar", "outPath": "x"})
    assert refused.phase is StepPhase.FAILED and "would leave outPath" in refused.message
    (ctx.work_dir / "plain.tar").write_text("not an archive")
    not_tar = run(UntarStep(), ctx, {"inPath": "plain.tar", "outPath": "x"})
    assert not_tar.phase is StepPhase.FAILED and "not a tar archive" in not_tar.message


def test_yaml_merge_later_files_win_and_missing_files_can_be_skipped(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (ctx.work_dir / "base.yaml").write_text(
        "# base\nimage:\n  repo: web\n  tag: '1'\nreplicas: 1\n"
    )
    (ctx.work_dir / "dev.yaml").write_text("image:\n  tag: '2'\n")
    merged = run(
        YamlMergeStep(),
        ctx,
        {
            "inFiles": ["base.yaml", "absent.yaml", "dev.yaml"],
            "outFile": "out.yaml",
            "ignoreMissingFiles": True,
        },
    )
    assert merged.phase is StepPhase.SUCCEEDED, merged.message
    assert (
        ctx.work_dir / "out.yaml"
    ).read_text() == "# base\nimage:\n  repo: web\n  tag: '2'\nreplicas: 1\n"
    strict = run(YamlMergeStep(), ctx, {"inFiles": ["absent.yaml"], "outFile": "o.yaml"})
    assert strict.phase is StepPhase.ERRORED and "config.inFiles[0]" in strict.message


def test_helm_update_chart_sets_dependency_versions_from_config_or_freight(tmp_path: Path) -> None:
    chart = (
        "apiVersion: v2\nname: app\ndependencies:\n- name: redis  # cache\n"
        "  repository: https://charts.example.com\n  version: 1.0.0\n"
    )
    ctx = context(tmp_path)
    ctx.charts = [FreightChart("https://charts.example.com", "redis", "1.2.0")]
    (ctx.work_dir / "c").mkdir()
    (ctx.work_dir / "c/Chart.yaml").write_text(chart)
    result = run(HelmUpdateChartStep(), ctx, {"path": "c"})
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert (ctx.work_dir / "c/Chart.yaml").read_text() == chart.replace("1.0.0", "1.2.0")
    assert result.outputs["commitMessage"] == "Updated chart dependencies for c\n\n- redis: 1.2.0"
    unknown = run(
        HelmUpdateChartStep(),
        ctx,
        {"path": "c", "charts": [{"repository": "https://x", "name": "pg", "version": "1"}]},
    )
    assert unknown.phase is StepPhase.ERRORED and "config.charts[0]" in unknown.message


def test_compose_output_returns_its_configuration_as_outputs(tmp_path: Path) -> None:
    result = run(ComposeOutputStep(), context(tmp_path), {"url": "https://x/pr/1", "count": 2})
    assert result.phase is StepPhase.SUCCEEDED and result.outputs == {
        "url": "https://x/pr/1",
        "count": 2,
    }
