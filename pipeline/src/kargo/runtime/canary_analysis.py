"""Analysis between canary steps (Argo Rollouts' `analysis` step), against the canary alone.

```yaml
- analysis:
    templates: [{templateName: smoke-tests}]
    args: [{name: checks-url, value: http://127.0.0.1:8090}]
```

The templates are the project's AnalysisTemplates. Arguments the templates declare are filled
in for the canary: `stage-url` is a canary instance's own address (not the stage's router port,
which splits traffic), `track` is `canary` (for Prometheus queries such as
`{stage="...", track="{{args.track}}"}`), and `stage`, `freight`, `commit`; `args` override them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kargo.analysis.errors import AnalysisArgumentError
from kargo.analysis.runs import build_analysis_run, run_analysis
from kargo.model.analysis import AnalysisPhase, AnalysisRun, AnalysisTemplate, Argument
from kargo.model.base import StrictModel
from kargo.steps.base import StepContext
from kargo.steps.resources import NoResourceReader, read_resource


class TemplateName(StrictModel):
    """A template by name (Argo Rollouts says `templateName`; Kargo's verification `name`)."""

    template_name: str | None = None
    name: str | None = None

    def resolved(self) -> str:
        """The template's name."""
        value = self.template_name or self.name
        if not value:
            raise ValueError("an analysis template needs `templateName`")
        return value


class CanaryAnalysis(StrictModel):
    """Config of one `analysis` canary step."""

    templates: list[TemplateName] = Field(min_length=1)
    args: list[Argument] = Field(default_factory=list)


class AnalysisOutcome(StrictModel):
    """How the canary's analysis ended; `message` names each failed metric and its value."""

    passed: bool
    phase: str
    message: str


def parse_analysis(config: dict[str, Any]) -> CanaryAnalysis:
    """The step's config as a model (ValueError with the reason when it is wrong)."""
    return CanaryAnalysis.model_validate(config)


def _load_templates(project: str, analysis: CanaryAnalysis) -> list[AnalysisTemplate]:
    found = []
    for ref in analysis.templates:
        name = ref.resolved()
        try:
            body = read_resource("AnalysisTemplate", project, name)
        except NoResourceReader as exc:
            raise ValueError(f"canary analysis: {exc}") from exc
        if body is None:
            raise ValueError(f"canary analysis: template {name!r} not found in {project}")
        found.append(AnalysisTemplate.model_validate(body))
    return found


def _shorten(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failed(run: AnalysisRun, templates: list[AnalysisTemplate]) -> str:
    conditions = {
        (t.name, m.name): m.success_condition or f"failure when {m.failure_condition}"
        for t in templates
        for m in t.spec.metrics
    }
    parts = []
    for result in run.status.metric_results:
        if result.phase is AnalysisPhase.SUCCESSFUL:
            continue
        latest = result.latest
        value = latest.value if latest is not None else None
        condition = conditions.get((result.template or "", result.name), "")
        parts.append(
            f"metric {result.template}/{result.name} {result.phase.value.lower()}: "
            f"measured {_shorten(value)}, condition {condition}"
        )
    return "; ".join(parts) or (run.status.message or "")


async def analyse_canary(
    ctx: StepContext, number: int, analysis: CanaryAnalysis, canary_url: str, commit: str
) -> AnalysisOutcome:
    """Run the templates against the canary and say whether it passed."""
    templates = _load_templates(ctx.project, analysis)
    declared = {arg.name for template in templates for arg in template.spec.args}
    implicit = {"stage-url": canary_url, "track": "canary", "canary-url": canary_url}
    args = [Argument(name=k, value=v) for k, v in implicit.items() if k in declared]
    given = {arg.name for arg in analysis.args}
    args = [arg for arg in args if arg.name not in given] + list(analysis.args)
    try:
        run = build_analysis_run(
            name=f"{ctx.promotion}-canary-{number}",
            templates=templates,
            args=args,
            project=ctx.project,
            stage=ctx.stage,
            freight=ctx.freight,
            commit=commit,
        )
    except AnalysisArgumentError as exc:
        raise ValueError(f"canary analysis: {exc}") from exc

    async def save(_: AnalysisRun) -> None:
        return None

    async def never() -> bool:
        return False

    final = await run_analysis(run, templates, save=save, is_terminated=never)
    phase = final.status.phase
    passed = phase is AnalysisPhase.SUCCESSFUL
    message = "" if passed else _failed(final, templates)
    return AnalysisOutcome(passed=passed, phase=phase.value, message=message)
