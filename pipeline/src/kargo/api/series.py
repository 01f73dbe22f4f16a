"""The series of a verification metric: the engine asks Prometheus (the browser never does)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kargo.analysis.errors import AnalysisArgumentError, MeasurementError
from kargo.api.codes import ErrorCode
from kargo.api.contract import MetricSeriesAnswer, MetricSeriesLine, SeriesPoint
from kargo.api.errors import ApiError
from kargo.api.state import ServerState, server_state
from kargo.engine.series import metric_series

router = APIRouter(prefix="/api/v1/projects/{project}")
State = Annotated[ServerState, Depends(server_state)]


@router.get("/analysisruns/{name}/series", response_model=MetricSeriesAnswer)
async def series(
    project: str, name: str, state: State, metric: Annotated[str, Query(min_length=1)]
) -> MetricSeriesAnswer:
    """One metric over its run's window: Prometheus's range query, or the run's measurements."""
    try:
        found = await metric_series(state.store, project, name, metric)
    except (MeasurementError, AnalysisArgumentError) as exc:
        raise ApiError(ErrorCode.UNAVAILABLE, f"series of metric {metric!r}: {exc}") from exc
    return MetricSeriesAnswer(
        run=found.run,
        metric=found.metric,
        template=found.template,
        source="prometheus" if found.source == "prometheus" else "measurements",
        query=found.query,
        start=found.start,
        end=found.end,
        step_seconds=found.step_seconds,
        series=[
            MetricSeriesLine(
                labels=line.labels,
                points=[
                    SeriesPoint(time=datetime.fromtimestamp(t, UTC), value=v)
                    for t, v in line.points
                ],
            )
            for line in found.series
        ],
    )
