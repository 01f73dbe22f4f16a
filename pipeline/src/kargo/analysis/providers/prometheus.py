"""The prometheus provider: an instant query; one sample is a number, several are a list."""

from __future__ import annotations

import math
from typing import Any

import httpx

from kargo.analysis.errors import MeasurementError, NoDataError
from kargo.model.analysis import PrometheusMetric
from kargo.tls import client_tls


async def measure_prometheus(prometheus: PrometheusMetric) -> Any:
    """Run the query; no data (or only NaN) raises NoDataError with a clear message."""
    url = prometheus.address.rstrip("/") + "/api/v1/query"
    headers = {h.key: h.value for h in prometheus.headers}
    try:
        async with httpx.AsyncClient(
            timeout=float(prometheus.timeout), verify=client_tls(not prometheus.insecure)
        ) as client:
            response = await client.get(
                url,
                params={"query": prometheus.query, "timeout": f"{prometheus.timeout}s"},
                headers=headers,
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
    return _samples(body.get("data") or {}, prometheus.query, prometheus.vector_as_list)


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
