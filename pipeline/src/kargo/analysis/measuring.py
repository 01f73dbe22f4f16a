"""Take one measurement of a metric: substitute args, call the provider, apply the conditions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from kargo.analysis.arguments import SecretResolver, argument_values, redact, substitute
from kargo.analysis.conditions import ConditionEvaluationError, assess_conditions
from kargo.analysis.errors import AnalysisArgumentError, MeasurementError, NoDataError
from kargo.analysis.providers import measure
from kargo.analysis.providers.jobs import JobFailed
from kargo.analysis.summaries import summarise_result
from kargo.model.analysis import AnalysisPhase, Argument, Measurement, Metric, MetricProvider
from kargo.model.base import utcnow
from kargo.model.durations import duration_seconds as parse_duration

TIMEOUT_MARGIN_SECONDS = 1.0  # lets the provider report its own timeout first


def measurement_timeout(metric: Metric) -> float:
    """Seconds one measurement may take: the metric's timeout, else the provider's."""
    if metric.timeout is not None:
        return parse_duration(metric.timeout)
    return metric.provider.default_timeout_seconds() + TIMEOUT_MARGIN_SECONDS


async def take_measurement(
    metric: Metric, args: Sequence[Argument], resolve_secret: SecretResolver
) -> Measurement:
    """One finished measurement; problems become its phase and message, never an exception."""
    started = utcnow()
    secrets: list[str] = []
    value: Any = None
    message: str | None
    try:
        values, secrets = argument_values(args, resolve_secret)
        settings = substitute(metric.provider.model_dump(by_alias=True), values)
        provider = MetricProvider.model_validate(settings)
        limit = measurement_timeout(metric)
        try:
            value = await asyncio.wait_for(measure(provider), limit)
        except TimeoutError:
            raise MeasurementError(f"measurement timed out after {limit:g}s") from None
        phase, message = assess_conditions(
            metric.success_condition, metric.failure_condition, value
        )
    except NoDataError as exc:
        phase, message = AnalysisPhase.INCONCLUSIVE, str(exc)
    except JobFailed as exc:
        phase, message, value = AnalysisPhase.FAILED, str(exc), exc.value
    except (MeasurementError, AnalysisArgumentError, ConditionEvaluationError) as exc:
        phase, message = AnalysisPhase.ERROR, str(exc)
    except ValidationError as exc:
        phase, message = AnalysisPhase.ERROR, f"provider settings invalid after args: {exc}"
    if message is not None:
        message = redact(message, secrets)
        if phase is AnalysisPhase.FAILED and value is not None:
            message = f"{message}; result: {summarise_result(value)}"
    return Measurement(
        phase=phase, value=value, started_at=started, finished_at=utcnow(), message=message
    )
