"""Measurement providers: web (HTTP), prometheus (PromQL) and job (a local command)."""

from __future__ import annotations

from typing import Any

from kargo.analysis.providers.jobs import measure_job
from kargo.analysis.providers.prometheus import measure_prometheus
from kargo.analysis.providers.web import measure_web
from kargo.model.analysis import MetricProvider


async def measure(provider: MetricProvider) -> Any:
    """Take one measurement; the provider's settings already have their args substituted."""
    if provider.web is not None:
        return await measure_web(provider.web)
    if provider.prometheus is not None:
        return await measure_prometheus(provider.prometheus)
    assert provider.job is not None
    return await measure_job(provider.job)
