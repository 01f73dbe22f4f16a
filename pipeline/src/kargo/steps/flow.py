"""Kargo's `compose-output`, `yaml-merge` and `helm-update-chart`."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field
from ruamel.yaml.comments import CommentedMap

from kargo.model.base import StrictModel
from kargo.steps.base import Step, StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored
from kargo.steps.workspace import existing_folder, inside
from kargo.steps.yamlfiles import load_yaml, write_yaml


class ComposeOutputConfig(StrictModel):
    """Any keys: each becomes an output of that name (values are usually expressions)."""

    model_config = ConfigDict(extra="allow")


@register_step
class ComposeOutputStep(Step[ComposeOutputConfig]):
    """Compose new outputs from values and expressions (often earlier steps' outputs)."""

    kind = "compose-output"
    config_model = ComposeOutputConfig
    outputs = {"<key>": "each configured key, with its (evaluated) value"}

    async def run(self, ctx: StepContext, config: ComposeOutputConfig) -> StepResult:
        """Return the configuration as the outputs."""
        values = dict(config.model_extra or {})
        return StepResult(StepPhase.SUCCEEDED, f"composed {len(values)} output(s)", values)


def deep_merge(base: Any, overlay: Any) -> Any:
    """Overlay merged into base: mappings key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        for key, value in overlay.items():
            base[key] = deep_merge(base[key], value) if key in base else value
        return base
    return overlay


class YamlMergeConfig(StrictModel):
    """Config of `yaml-merge`."""

    in_files: list[str] = Field(min_length=1, description="YAML files, later ones winning.")
    out_file: str = Field(min_length=1, description="Where the merged document goes.")
    ignore_missing_files: bool = Field(
        default=False, description="Skip input files that are absent."
    )


@register_step
class YamlMergeStep(CheckedStep[YamlMergeConfig]):
    """Merge YAML files (later files override earlier ones, mappings merged deeply)."""

    kind = "yaml-merge"
    config_model = YamlMergeConfig
    outputs = {"commitMessage": "a description of the change, for git-commit"}

    async def execute(self, ctx: StepContext, config: YamlMergeConfig) -> StepResult:
        """Do the step's work."""
        merged: Any = CommentedMap()
        emitter = None
        used = []
        for index, name in enumerate(config.in_files):
            path = inside(ctx.work_dir, name, self.kind, f"inFiles[{index}]")
            if not path.is_file():
                if config.ignore_missing_files:
                    continue
                raise StepErrored(self.kind, f"{name!r}: no such file", f"inFiles[{index}]")
            document, yaml = load_yaml(path, self.kind, f"inFiles[{index}]")
            merged = document if emitter is None else deep_merge(merged, document)
            emitter = emitter or yaml
            used.append(name)
        out = inside(ctx.work_dir, config.out_file, self.kind, "outFile")
        out.parent.mkdir(parents=True, exist_ok=True)
        if emitter is None:
            out.write_text("", encoding="utf-8")
        else:
            write_yaml(out, merged, emitter, self.kind)
        message = f"Updated {config.out_file}\n\n" + "\n".join(f"- merged {u}" for u in used)
        return StepResult(
            StepPhase.SUCCEEDED, f"merged {len(used)} file(s)", {"commitMessage": message}
        )


class ChartUpdate(StrictModel):
    """A dependency to move to a version."""

    repository: str = Field(min_length=1, description="The dependency's repository, exactly.")
    name: str = Field(min_length=1, description="The dependency's name, exactly.")
    version: str = Field(min_length=1, description="The version to use.")


class HelmUpdateChartConfig(StrictModel):
    """Config of `helm-update-chart`."""

    path: str = Field(min_length=1, description="The chart's folder (with Chart.yaml).")
    charts: list[ChartUpdate] = Field(
        default_factory=list, description="Dependencies to update (default: the freight's charts)."
    )


@register_step
class HelmUpdateChartStep(CheckedStep[HelmUpdateChartConfig]):
    """Set dependency versions in a chart's Chart.yaml (Chart.lock is not rewritten here)."""

    kind = "helm-update-chart"
    config_model = HelmUpdateChartConfig
    outputs = {"commitMessage": "a description of the change, for git-commit"}

    async def execute(self, ctx: StepContext, config: HelmUpdateChartConfig) -> StepResult:
        """Do the step's work."""
        folder = existing_folder(ctx.work_dir, config.path, self.kind)
        chart_file = folder / "Chart.yaml"
        if not chart_file.is_file():
            raise StepErrored(self.kind, f"no Chart.yaml in {config.path!r}", "path")
        document, yaml = load_yaml(chart_file, self.kind)
        dependencies = document.get("dependencies") or []
        wanted = config.charts or [
            ChartUpdate(repository=c.repo_url, name=c.name, version=c.version) for c in ctx.charts
        ]
        changed = []
        for index, update in enumerate(wanted):
            entry = next(
                (
                    d
                    for d in dependencies
                    if d.get("repository") == update.repository and d.get("name") == update.name
                ),
                None,
            )
            if entry is None:
                raise StepErrored(
                    self.kind,
                    f"Chart.yaml has no dependency {update.name} from {update.repository}",
                    f"charts[{index}]",
                )
            if str(entry.get("version")) != update.version:
                entry["version"] = update.version
                changed.append(f"- {update.name}: {update.version}")
        write_yaml(chart_file, document, yaml, self.kind)
        message = f"Updated chart dependencies for {config.path}\n\n" + "\n".join(changed)
        return StepResult(
            StepPhase.SUCCEEDED,
            f"updated {len(changed)} dependency(ies)",
            {"commitMessage": message} if changed else {},
        )
