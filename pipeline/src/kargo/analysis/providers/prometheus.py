"""The prometheus provider: an instant query; one sample is a number, several are a list.

`query_range` asks the same server for the query's values over a window (the dashboard's chart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from kargo.analysis.errors import MeasurementError, NoDataError
from kargo.model.analysis import PrometheusMetric
from kargo.tls import client_tls


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range query: its labels and (unix time, value) points, NaN left out."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


async def measure_prometheus(prometheus: PrometheusMetric) -> Any:
    """Run the query; no data (or only NaN) raises NoDataError with a clear message."""
    body = await _ask(prometheus, "query", {"query": prometheus.query})
    return _samples(body.get("data") or {}, prometheus.query, prometheus.vector_as_list)


async def query_range(
    prometheus: PrometheusMetric, start: datetime, end: datetime, step_seconds: float
) -> list[RangeSeries]:
    """The query's values from start to end every step; MeasurementError when Prometheus fails."""
    params = {
        "query": prometheus.query,
        "start": f"{start.timestamp():.3f}",
        "end": f"{end.timestamp():.3f}",
        "step": f"{step_seconds:g}",
    }
    data = (await _ask(prometheus, "query_range", params)).get("data") or {}
    if data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise MeasurementError(
            f"Prometheus range query {prometheus.query!r} gave {data.get('resultType')!r}, "
            "expected a matrix"
        )
    found = []
    for series in data["result"]:
        points = [(float(t), _number(v)) for t, v in series.get("values") or []]
        finite = [(t, v) for t, v in points if math.isfinite(v)]
        found.append(RangeSeries({str(k): str(v) for k, v in series["metric"].items()}, finite))
    return found


async def _ask(prometheus: PrometheusMetric, endpoint: str, params: dict[str, str]) -> Any:
    """The JSON answer of one of Prometheus's query endpoints, or MeasurementError."""
    url = prometheus.address.rstrip("/") + f"/api/v1/{endpoint}"
    headers = {h.key: h.value for h in prometheus.headers}
    try:
        async with httpx.AsyncClient(
            timeout=float(prometheus.timeout), verify=client_tls(not prometheus.insecure)
        ) as client:
            response = await client.get(
                url, params={**params, "timeout": f"{prometheus.timeout}s"}, headers=headers
            )
    except httpx.TimeoutException:
        raise MeasurementError(
            f"Prometheus at {prometheus.address} did not answer in {prometheus.timeout}s"
        ) from None
    except httpx.HTTPError as exc:
        raise MeasurementError(f"Prometheus at {prometheus.address} failed: {exc!r}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else response.text[:300]
        raise MeasurementError(
            f"Prometheus query {prometheus.query!r} failed (HTTP {response.status_code}): {error}"
        )
    return body


def _samples(data: dict[str, Any], query: str, vector_as_list: bool) -> Any:
    """The query's value: a number for one sample or a scalar, a list for several."""
    result_type = data.get("resultType")
    result = data.get("result")
    if result_type in ("scalar", "string"):
        values = [_number(result[1])] if isinstance(result, list) else []
    elif result_type == "vector" and isinstance(result, list):
        values = [_number(sample["value"][1]) for sample in result]
    else:
        raise MeasurementError(f"Prometheus query {query!r} gave an unsupported {result_type!r}")
    if not values:
        raise NoDataError(f"Prometheus query {query!r} returned no data")
    if all(math.isnan(v) for v in values):
        raise NoDataError(f"Prometheus query {query!r} returned NaN (no observations yet)")
    if len(values) == 1 and not (vector_as_list and result_type == "vector"):
        return values[0]
    return values


def _number(text: Any) -> float:
    """A Prometheus sample value ("1.5", "NaN", "+Inf") as a float."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise MeasurementError(f"Prometheus returned a non-numeric sample {text!r}") from None
