"""Kargo's rendering steps, which run a tool found on PATH: `kustomize-build`, `helm-template`.

`kustomize-build` uses `kustomize build`, or `kubectl kustomize` when only kubectl is there;
`helm-template` uses `helm template`. Without the tool the step errors, naming what to install.
Rendered manifests go to one file (an `outPath` ending in .yaml/.yml) or one file per resource.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.workspace import existing_file, existing_folder, inside

KUSTOMIZE_INSTALL = (
    "install kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) or kubectl"
)
HELM_INSTALL = "install Helm 3 (https://helm.sh/docs/intro/install/)"


async def _run_tool(kind: str, argv: list[str], cwd: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await process.communicate()
    except asyncio.CancelledError:  # an aborted promotion or a stopping engine: nothing left over
        if process.returncode is None:
            process.kill()
        await asyncio.shield(process.wait())
        raise
    if process.returncode != 0:
        said = err.decode(errors="replace").strip()
        raise StepFailed(kind, f"{Path(argv[0]).name} failed: {said}")
    return out.decode()


def _file_name(document: dict[str, object], layout: str) -> str:
    kind = str(document.get("kind", "unknown")).lower()
    meta = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    name = str(meta.get("name", "unnamed")).lower()
    if layout == "kustomize":
        group_version = str(document.get("apiVersion", "v1")).lower().replace("/", "_")
        return f"{group_version}_{kind}_{name}.yaml"
    namespace = meta.get("namespace")
    return f"{namespace}-{kind}-{name}.yaml" if namespace else f"{kind}-{name}.yaml"


def write_manifests(kind: str, text: str, target: Path, layout: str) -> int:
    """Write rendered manifests to a file or (one per resource) a folder; return the count."""
    documents = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    if target.suffix in (".yaml", ".yml"):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return len(documents)
    target.mkdir(parents=True, exist_ok=True)
    for document in documents:
        (target / _file_name(document, layout)).write_text(
            yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
        )
    return len(documents)


class HelmPlugin(StrictModel):
    """Settings of kustomize's Helm chart plugin."""

    api_versions: list[str] = Field(default_factory=list, description="API versions to assume.")
    kube_version: str | None = Field(default=None, description="Kubernetes version to assume.")


class KustomizePlugin(StrictModel):
    """Plugin settings."""

    helm: HelmPlugin | None = Field(default=None, description="The Helm chart plugin.")


class KustomizeBuildConfig(StrictModel):
    """Config of `kustomize-build`."""

    path: str = Field(min_length=1, description="The folder holding the kustomization.")
    out_path: str = Field(
        min_length=1, description="A .yaml file, or a folder for one per resource."
    )
    output_format: Literal["kargo", "kustomize"] = Field(
        default="kargo",
        description="File names in a folder: `[namespace-]kind-name.yaml` or kustomize's.",
    )
    plugin: KustomizePlugin | None = Field(default=None, description="Plugin settings.")


@register_step
class KustomizeBuildStep(CheckedStep[KustomizeBuildConfig]):
    """Render a kustomization with kustomize (or kubectl kustomize)."""

    kind = "kustomize-build"
    config_model = KustomizeBuildConfig

    async def execute(self, ctx: StepContext, config: KustomizeBuildConfig) -> StepResult:
        """Do the step's work."""
        folder = existing_folder(ctx.work_dir, config.path, self.kind)
        target = inside(ctx.work_dir, config.out_path, self.kind, "outPath")
        kustomize, kubectl = shutil.which("kustomize"), shutil.which("kubectl")
        if kustomize:
            argv = [kustomize, "build"]
        elif kubectl:
            argv = [kubectl, "kustomize"]
        else:
            raise StepErrored(
                self.kind, f"neither kustomize nor kubectl is on PATH: {KUSTOMIZE_INSTALL}"
            )
        helm = config.plugin.helm if config.plugin else None
        if helm is not None:
            argv.append("--enable-helm")
            if helm.kube_version:
                argv += ["--helm-kube-version", helm.kube_version]
            for version in helm.api_versions:
                argv += ["--helm-api-versions", version]
        text = await _run_tool(self.kind, [*argv, str(folder)], ctx.work_dir)
        count = write_manifests(self.kind, text, target, config.output_format)
        return StepResult(StepPhase.SUCCEEDED, f"rendered {count} resource(s) to {config.out_path}")


class SetValue(StrictModel):
    """A `--set` (or `--set-literal`) value."""

    key: str = Field(min_length=1, description="The value's key (`image.tag`).")
    value: str = Field(default="", description="The value.")
    literal: bool = Field(default=False, description="Use --set-literal.")


class HelmTemplateConfig(StrictModel):
    """Config of `helm-template`."""

    path: str = Field(min_length=1, description="The chart's folder (with Chart.yaml).")
    out_path: str = Field(min_length=1, description="A .yaml file, or a folder.")
    out_layout: Literal["helm", "flat"] = Field(default="helm", description="Folder layout.")
    release_name: str = Field(min_length=1, description="The release name.")
    use_release_name: bool = Field(default=False, description="Name the folder after the release.")
    namespace: str | None = Field(default=None, description="The release namespace.")
    values_files: list[str] = Field(default_factory=list, description="Values files.")
    ignore_missing_value_files: bool = Field(default=False, description="Skip absent values files.")
    build_dependencies: bool = Field(default=False, description="Build dependencies first.")
    include_crds: bool = Field(default=False, description="Include CRDs.")
    disable_hooks: bool = Field(default=False, description="Leave hooks out.")
    skip_tests: bool = Field(default=False, description="Leave tests out.")
    kube_version: str | None = Field(default=None, description="Kubernetes version to assume.")
    api_versions: list[str] = Field(default_factory=list, description="API versions to assume.")
    set_values: list[SetValue] = Field(default_factory=list, description="Inline values.")


@register_step
class HelmTemplateStep(CheckedStep[HelmTemplateConfig]):
    """Render a Helm chart with `helm template`."""

    kind = "helm-template"
    config_model = HelmTemplateConfig

    async def execute(self, ctx: StepContext, config: HelmTemplateConfig) -> StepResult:
        """Do the step's work."""
        chart = existing_folder(ctx.work_dir, config.path, self.kind)
        existing_file(ctx.work_dir, f"{config.path}/Chart.yaml", self.kind)
        target = inside(ctx.work_dir, config.out_path, self.kind, "outPath")
        helm = shutil.which("helm")
        if helm is None:
            raise StepErrored(self.kind, f"helm is not on PATH: {HELM_INSTALL}")
        argv = [helm, "template", config.release_name, str(chart)]
        for index, values in enumerate(config.values_files):
            where = inside(ctx.work_dir, values, self.kind, f"valuesFiles[{index}]")
            if not where.is_file():
                if config.ignore_missing_value_files:
                    continue
                raise StepErrored(self.kind, f"{values!r}: no such file", f"valuesFiles[{index}]")
            argv += ["--values", str(where)]
        if config.namespace:
            argv += ["--namespace", config.namespace]
        argv += ["--include-crds"] if config.include_crds else []
        argv += ["--no-hooks"] if config.disable_hooks else []
        argv += ["--skip-tests"] if config.skip_tests else []
        if config.kube_version:
            argv += ["--kube-version", config.kube_version]
        for version in config.api_versions:
            argv += ["--api-versions", version]
        for value in config.set_values:
            argv += ["--set-literal" if value.literal else "--set", f"{value.key}={value.value}"]
        if config.build_dependencies:
            await _run_tool(self.kind, [helm, "dependency", "build", str(chart)], ctx.work_dir)
        text = await _run_tool(self.kind, argv, ctx.work_dir)
        if target.suffix not in (".yaml", ".yml") and config.out_layout == "helm":
            target = target / (config.release_name if config.use_release_name else chart.name)
        count = write_manifests(self.kind, text, target, "kargo")
        return StepResult(StepPhase.SUCCEEDED, f"rendered {count} resource(s) to {config.out_path}")
