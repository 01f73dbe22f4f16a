"""Argo Rollouts' rules for a metric's phase, from its counters and limits.

A metric fails once more than `failureLimit` measurements failed, is inconclusive once more
than `inconclusiveLimit` were inconclusive, errors once more than `consecutiveErrorLimit`
measurements in a row errored, and succeeds when `count` measurements (errors do not count) are
taken. A negative limit disables it. Without `interval`, `count` defaults to 1.
"""

from __future__ import annotations

from kargo.model.analysis import AnalysisPhase, Measurement, Metric, MetricResult


def effective_count(metric: Metric) -> int | None:
    """How many measurements finish the metric; None means until the run ends."""
    if metric.count is not None and metric.count > 0:
        return metric.count
    return None if metric.interval else 1


def record(result: MetricResult, measurement: Measurement) -> None:
    """Count a finished measurement in the metric's counters."""
    phase = measurement.phase
    if phase is AnalysisPhase.ERROR:
        result.error += 1
        result.consecutive_error += 1
        return
    result.count += 1
    result.consecutive_error = 0
    if phase is AnalysisPhase.SUCCESSFUL:
        result.successful += 1
    elif phase is AnalysisPhase.FAILED:
        result.failed += 1
    elif phase is AnalysisPhase.INCONCLUSIVE:
        result.inconclusive += 1


def assess_metric(metric: Metric, result: MetricResult, *, ending: bool = False) -> AnalysisPhase:
    """The metric's phase now; `ending` means the run stops and no more measurements come."""
    if metric.failure_limit >= 0 and result.failed > metric.failure_limit:
        return AnalysisPhase.FAILED
    if metric.inconclusive_limit >= 0 and result.inconclusive > metric.inconclusive_limit:
        return AnalysisPhase.INCONCLUSIVE
    limit = metric.consecutive_error_limit
    if limit >= 0 and result.consecutive_error > limit:
        return AnalysisPhase.ERROR
    wanted = effective_count(metric)
    if wanted is not None and result.count >= wanted:
        return AnalysisPhase.SUCCESSFUL
    if ending and wanted is None and result.count > 0:
        return AnalysisPhase.SUCCESSFUL
    return AnalysisPhase.RUNNING if result.measurements else AnalysisPhase.PENDING


def metric_message(metric: Metric, result: MetricResult, phase: AnalysisPhase) -> str | None:
    """Why the metric ended in this phase, from its limits and last measurement."""
    last = result.latest
    detail = f": {last.message}" if last is not None and last.message else ""
    if phase is AnalysisPhase.FAILED:
        return f"{result.failed} failed measurement(s), failureLimit {metric.failure_limit}{detail}"
    if phase is AnalysisPhase.INCONCLUSIVE:
        return (
            f"{result.inconclusive} inconclusive measurement(s), "
            f"inconclusiveLimit {metric.inconclusive_limit}{detail}"
        )
    if phase is AnalysisPhase.ERROR:
        return (
            f"{result.consecutive_error} consecutive error(s), "
            f"consecutiveErrorLimit {metric.consecutive_error_limit}{detail}"
        )
    return None


def worst_phase(phases: list[AnalysisPhase]) -> AnalysisPhase:
    """The run's phase: the most severe of its metrics' phases."""
    return max(phases, key=lambda p: p.severity(), default=AnalysisPhase.SUCCESSFUL)
