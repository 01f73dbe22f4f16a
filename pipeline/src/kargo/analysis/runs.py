"""Build an AnalysisRun from a stage's verification, and execute it.

All metrics run concurrently. Every finished measurement is appended to the run's status and
`save` is called, so the engine can persist progress. The run stops early when a metric ends
Failed, Error or Inconclusive (as Argo Rollouts does), when it is aborted (`spec.terminate` or
`is_terminated()`), or when its whole-run timeout passes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from kargo.analysis.arguments import (
    SecretResolver,
    as_arguments,
    merge_arguments,
    resolve_secret_from_environment,
)
from kargo.analysis.assessment import assess_metric, metric_message, record, worst_phase
from kargo.analysis.errors import AnalysisArgumentError, AnalysisRunError
from kargo.analysis.measuring import take_measurement
from kargo.model.analysis import (
    AnalysisPhase,
    AnalysisRun,
    AnalysisRunSpec,
    AnalysisRunStatus,
    AnalysisTemplate,
    Argument,
    Metric,
    MetricResult,
    TemplateRef,
)
from kargo.model.base import ObjectMeta, utcnow
from kargo.model.durations import duration_seconds as parse_duration

log = logging.getLogger(__name__)

DEFAULT_RUN_TIMEOUT_SECONDS = 15 * 60.0
ERROR_RETRY_SECONDS = 10.0  # Argo Rollouts' retry delay after an error when no interval is set
POLL_SECONDS = 0.25

SaveRun = Callable[[AnalysisRun], Awaitable[None]]
IsTerminated = Callable[[], Awaitable[bool]]


def build_analysis_run(
    *,
    name: str,
    templates: Sequence[AnalysisTemplate],
    args: Sequence[Argument] | Mapping[str, str] = (),
    project: str | None = None,
    stage: str | None = None,
    freight: str | None = None,
    commit: str | None = None,
    labels: Mapping[str, str] | None = None,
    timeout: str | None = None,
) -> AnalysisRun:
    """A Pending run of these templates; raises AnalysisArgumentError for args without values.

    Templates that declare `stage`, `freight` or `commit` get them from the keyword arguments
    unless `args` (the stage's spec.verification.args) sets them.
    """
    supplied = as_arguments(args)
    draft = AnalysisRun(
        metadata=ObjectMeta(name=name),
        spec=AnalysisRunSpec(templates=[TemplateRef(name=t.name) for t in templates]),
    )
    _template_metrics(draft, templates)  # unique metric names
    declared = [arg for template in templates for arg in template.spec.args]
    given = {arg.name for arg in supplied if arg.value or arg.value_from}
    names = {arg.name for arg in declared}
    for name, value in (("stage", stage), ("freight", freight), ("commit", commit)):
        if value and name in names and name not in given:
            supplied.append(Argument(name=name, value=value))
    merged = merge_arguments(declared, supplied)
    if timeout is None:
        limits = [t.spec.timeout for t in templates if t.spec.timeout is not None]
        timeout = max(limits, key=parse_duration) if limits else None
    results = [
        MetricResult(name=metric.name, template=template.name)
        for template in templates
        for metric in template.spec.metrics
    ]
    return AnalysisRun(
        metadata=ObjectMeta(name=name, namespace=project, labels=dict(labels or {})),
        spec=AnalysisRunSpec(
            templates=[TemplateRef(name=t.name) for t in templates],
            args=merged,
            timeout=timeout,
            stage=stage,
            freight=freight,
        ),
        status=AnalysisRunStatus(metric_results=results),
    )


def run_metrics(run: AnalysisRun, templates: Sequence[AnalysisTemplate]) -> list[Metric]:
    """The metrics of the run's templates, in order; AnalysisRunError if one is missing."""
    return [metric for _, metric in _template_metrics(run, templates)]


def _template_metrics(
    run: AnalysisRun, templates: Sequence[AnalysisTemplate]
) -> list[tuple[str, Metric]]:
    """(template name, metric) for the run's templates; names must be unique across them."""
    by_name = {t.name: t for t in templates}
    pairs: list[tuple[str, Metric]] = []
    seen: dict[str, str] = {}
    for ref in run.spec.templates:
        if ref.name not in by_name:
            raise AnalysisRunError(f"analysis run {run.name}: template {ref.name!r} not given")
        for metric in by_name[ref.name].spec.metrics:
            if metric.name in seen:
                raise AnalysisRunError(
                    f"analysis run {run.name}: metric {metric.name!r} is in both "
                    f"{seen[metric.name]!r} and {ref.name!r}; metric names must be unique"
                )
            seen[metric.name] = ref.name
            pairs.append((ref.name, metric))
    return pairs


async def run_analysis(
    run: AnalysisRun,
    templates: list[AnalysisTemplate],
    *,
    save: SaveRun,
    is_terminated: IsTerminated,
    resolve_secret: SecretResolver = resolve_secret_from_environment,
) -> AnalysisRun:
    """Execute the run to a terminal phase, saving after each measurement; returns the run."""
    if run.status.phase.is_terminal():
        return run
    pairs = _template_metrics(run, templates)
    metrics = [metric for _, metric in pairs]
    status = run.status
    status.started_at = status.started_at or utcnow()
    for template_name, metric in pairs:
        if status.metric(metric.name) is None:
            status.metric_results.append(MetricResult(name=metric.name, template=template_name))
    try:
        declared = [arg for t in templates for arg in t.spec.args]
        args = merge_arguments(declared, run.spec.args)
    except AnalysisArgumentError as exc:
        status.phase, status.message, status.finished_at = AnalysisPhase.ERROR, str(exc), utcnow()
        await save(run)
        return run
    status.phase = AnalysisPhase.RUNNING
    await save(run)
    seconds = parse_duration(run.spec.timeout) if run.spec.timeout else DEFAULT_RUN_TIMEOUT_SECONDS
    elapsed = (utcnow() - status.started_at).total_seconds()  # a resumed run keeps its deadline
    executor = _RunExecutor(run, metrics, args, save, is_terminated, resolve_secret, seconds)
    executor.deadline -= max(elapsed, 0.0)
    await executor.execute()
    return run


class _RunExecutor:
    """Runs every metric as a task and watches for an early end, an abort or the timeout."""

    def __init__(
        self,
        run: AnalysisRun,
        metrics: list[Metric],
        args: list[Argument],
        save: SaveRun,
        is_terminated: IsTerminated,
        resolve_secret: SecretResolver,
        timeout_seconds: float,
    ) -> None:
        self.run = run
        self.metrics = metrics
        self.args = args
        self.save = save
        self.is_terminated = is_terminated
        self.resolve_secret = resolve_secret
        self.timeout_seconds = timeout_seconds
        self.deadline = time.monotonic() + timeout_seconds
        self.lock = asyncio.Lock()
        self.ended_badly = asyncio.Event()
        self.stop_reason = ""

    def result(self, metric: Metric) -> MetricResult:
        """The metric's result entry (created by run_analysis)."""
        found = self.run.status.metric(metric.name)
        assert found is not None
        return found

    async def persist(self) -> None:
        """Save the run; one save at a time."""
        async with self.lock:
            await self.save(self.run)

    async def run_metric(self, metric: Metric) -> None:
        """Measure until the metric's phase is terminal."""
        result = self.result(metric)
        try:
            if not result.measurements and metric.initial_delay:
                await asyncio.sleep(parse_duration(metric.initial_delay))
            while True:
                measurement = await take_measurement(metric, self.args, self.resolve_secret)
                result.measurements.append(measurement)
                record(result, measurement)
                result.phase = assess_metric(metric, result)
                result.message = metric_message(metric, result, result.phase)
                await self.persist()
                if result.phase.is_terminal():
                    if result.phase is not AnalysisPhase.SUCCESSFUL:
                        self.stop_reason = f"metric {metric.name} ended {result.phase}"
                        self.ended_badly.set()
                    return
                if measurement.phase is AnalysisPhase.ERROR and not metric.interval:
                    await asyncio.sleep(ERROR_RETRY_SECONDS)
                elif metric.interval:
                    await asyncio.sleep(parse_duration(metric.interval))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not leave the run Running forever
            log.exception("metric %s crashed", metric.name)
            result.phase, result.message = AnalysisPhase.ERROR, f"internal error: {exc!r}"
            self.stop_reason = f"metric {metric.name} ended {result.phase}"
            self.ended_badly.set()

    async def execute(self) -> None:
        """Run the metrics, stop them when needed, and settle every phase."""
        todo = [m for m in self.metrics if not self.result(m).phase.is_terminal()]
        aborted = timed_out = False
        if todo and (self.run.spec.terminate or await self.is_terminated()):
            aborted, todo = True, []  # aborted before it started
        pending = {asyncio.create_task(self.run_metric(m), name=m.name) for m in todo}
        try:
            while pending:
                _, pending = await asyncio.wait(pending, timeout=POLL_SECONDS)
                if not pending or self.ended_badly.is_set():
                    break
                if self.run.spec.terminate or await self.is_terminated():
                    aborted = True
                    break
                if time.monotonic() >= self.deadline:
                    timed_out = True
                    break
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.settle(aborted=aborted, timed_out=timed_out)
        await self.persist()

    def settle(self, *, aborted: bool, timed_out: bool) -> None:
        """Give unfinished metrics a final phase and the run its phase and message."""
        if timed_out:
            why = f"the analysis run timed out after {self.timeout_seconds:g}s"
        elif aborted:
            why = "the analysis run was aborted"
        else:
            why = self.stop_reason
        for metric in self.metrics:
            result = self.result(metric)
            if result.phase.is_terminal():
                continue
            phase = assess_metric(metric, result, ending=True)
            if phase.is_terminal():
                result.phase, result.message = phase, metric_message(metric, result, phase)
            else:
                phase = AnalysisPhase.ERROR if timed_out else AnalysisPhase.INCONCLUSIVE
                result.phase, result.message = phase, f"stopped before finishing: {why}"
        status = self.run.status
        status.phase = worst_phase([r.phase for r in status.metric_results])
        if aborted and status.phase is AnalysisPhase.SUCCESSFUL:
            status.phase = AnalysisPhase.INCONCLUSIVE
        status.message = self.run_message(status.phase, aborted, why)
        status.finished_at = utcnow()

    def run_message(self, phase: AnalysisPhase, aborted: bool, why: str) -> str:
        """Why the run ended as it did, naming the deciding metric."""
        if aborted:
            return "aborted"
        if phase is AnalysisPhase.SUCCESSFUL:
            return "all metrics successful"
        for result in self.run.status.metric_results:
            if result.phase is phase and not (result.message or "").startswith("stopped"):
                return f"metric {result.name} {phase}: {result.message}"
        return f"{phase}: {why}"
