"""A metric's values over its analysis run's window: for a prometheus metric, the same query
asked of the same Prometheus as a range query (the load test's p95 over time); for any other
metric, the run's own numeric measurements."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from kargo.analysis.arguments import (
    argument_values,
    redact,
    references,
    resolve_secret_from_environment,
    substitute,
)
from kargo.analysis.providers.prometheus import RangeSeries, query_range
from kargo.engine.errors import Invalid, NotFound
from kargo.model.analysis import (
    AnalysisRun,
    AnalysisTemplate,
    ClusterAnalysisTemplate,
    Metric,
    MetricProvider,
    MetricResult,
)
from kargo.model.base import utcnow
from kargo.store import Store, get_model

MAX_POINTS = 120  # per series: enough for a small chart, few enough to send every refresh


@dataclass
class MetricSeries:
    """What the chart draws: the window, the step, and one or more series of points."""

    run: str
    metric: str
    template: str | None
    source: str  # "prometheus" or "measurements"
    query: str | None = None  # secrets redacted
    start: datetime | None = None
    end: datetime | None = None
    step_seconds: float = 0.0
    series: list[RangeSeries] = field(default_factory=list)


def step_for(start: datetime, end: datetime) -> float:
    """Whole seconds between points so that the window has at most MAX_POINTS of them."""
    return float(max(1, math.ceil((end - start).total_seconds() / (MAX_POINTS - 1))))


async def metric_series(store: Store, project: str, run_name: str, metric: str) -> MetricSeries:
    """The series of one metric of a run; NotFound for an unknown run or metric."""
    run = get_model(store, AnalysisRun, project, run_name)
    if run is None:
        raise NotFound(
            f"analysis run {run_name!r} not found in project {project!r}; "
            "see `kargo get analysisruns`"
        )
    result = run.status.metric(metric)
    if result is None:
        names = ", ".join(r.name for r in run.status.metric_results) or "none"
        raise NotFound(f"analysis run {run_name!r} has no metric {metric!r} (it has: {names})")
    spec = _metric_spec(store, project, result)
    start = run.status.started_at or _first_measured(result)
    end = run.status.finished_at or utcnow()
    if spec is None or spec.provider.prometheus is None or start is None:
        return _measured(run, result, start, end)
    settings = spec.provider.model_dump(by_alias=True)
    used = references(settings)  # a secret the query does not use is not read
    args = [arg for arg in run.spec.args if arg.name in used]
    values, secrets = argument_values(args, resolve_secret_from_environment)
    provider = MetricProvider.model_validate(substitute(settings, values))
    prometheus = provider.prometheus
    if prometheus is None:  # pragma: no cover - substitution keeps the provider's kind
        raise Invalid(f"metric {metric!r} lost its prometheus settings after its args")
    # Prometheus evaluates a range at whole milliseconds: ask for (and answer) the window at
    # that precision, so the first point is never before the answer's start.
    start, end = _to_milliseconds(start), _to_milliseconds(end)
    step = step_for(start, end)
    series = await query_range(prometheus, start, end, step)
    return MetricSeries(
        run=run.name,
        metric=metric,
        template=result.template,
        source="prometheus",
        query=redact(prometheus.query, secrets),
        start=start,
        end=end,
        step_seconds=step,
        series=series,
    )


def _to_milliseconds(moment: datetime) -> datetime:
    """The moment with its microseconds cut to whole milliseconds, as Prometheus keeps time."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _metric_spec(store: Store, project: str, result: MetricResult) -> Metric | None:
    """The metric's definition in its template (the project's, else the cluster's)."""
    if result.template is None:
        return None
    template: AnalysisTemplate | ClusterAnalysisTemplate | None = get_model(
        store, AnalysisTemplate, project, result.template
    ) or get_model(store, ClusterAnalysisTemplate, "", result.template)
    if template is None:
        return None
    return next((m for m in template.spec.metrics if m.name == result.name), None)


def _first_measured(result: MetricResult) -> datetime | None:
    return result.measurements[0].started_at if result.measurements else None


def _measured(
    run: AnalysisRun, result: MetricResult, start: datetime | None, end: datetime
) -> MetricSeries:
    """The run's own numeric measurements as one series."""
    points = []
    for measurement in result.measurements:
        value = _numeric(measurement.value)
        if value is not None:
            when = measurement.finished_at or measurement.started_at
            points.append((when.timestamp(), value))
    return MetricSeries(
        run=run.name,
        metric=result.name,
        template=result.template,
        source="measurements",
        start=start,
        end=end,
        series=[RangeSeries({}, points)] if points else [],
    )


def _numeric(value: object) -> float | None:
    """A number out of a measured value: 0.02, "0.02" or [0.02]; else None."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
