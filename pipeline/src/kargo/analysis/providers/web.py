"""The web provider: an HTTP call whose JSON answer (or a part of it) is the result."""

from __future__ import annotations

import json
from typing import Any

import httpx

from kargo.analysis.errors import MeasurementError
from kargo.analysis.jsonpath import select
from kargo.model.analysis import WebMetric
from kargo.tls import client_tls


async def measure_web(web: WebMetric) -> Any:
    """Call the endpoint; non-2xx answers and non-JSON bodies are measurement errors."""
    headers = {h.key: h.value for h in web.headers}
    content: bytes | None = None
    if web.json_body is not None:
        content = json.dumps(web.json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif web.body is not None:
        content = web.body.encode()
    try:
        async with httpx.AsyncClient(
            timeout=float(web.timeout_seconds), verify=client_tls(not web.insecure)
        ) as client:
            response = await client.request(
                web.method.upper(), web.url, headers=headers, content=content
            )
    except httpx.TimeoutException:
        raise MeasurementError(
            f"{web.method.upper()} {web.url} timed out after {web.timeout_seconds}s"
        ) from None
    except httpx.HTTPError as exc:
        raise MeasurementError(f"{web.method.upper()} {web.url} failed: {exc!r}") from None
    if not 200 <= response.status_code < 300:
        raise MeasurementError(
            f"{web.method.upper()} {web.url} answered HTTP {response.status_code}: "
            f"{response.text[:300]}"
        )
    try:
        document = response.json()
    except ValueError:
        raise MeasurementError(
            f"{web.method.upper()} {web.url} did not answer JSON: {response.text[:300]!r}"
        ) from None
    return select(document, web.json_path) if web.json_path else document
