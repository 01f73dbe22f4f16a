"""The `http` step (Kargo's): send a request, judge the response with expressions.

`successExpression` and `failureExpression` are CEL over `response.status`, `response.headers`
and `response.body` (parsed JSON, or the text). With neither, a 2xx status succeeds. When neither
matches, the step stays Running and is tried again (the step's retry timeout bounds it).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import Field

from kargo.model.base import StrictModel
from kargo.model.durations import parse_duration
from kargo.steps.base import Step, StepContext, StepPhase, StepResult, register_step
from kargo.steps.expressions import ExpressionError, evaluate


class NameValue(StrictModel):
    """A header or query parameter."""

    name: str
    value: str = ""


class HttpOutput(StrictModel):
    """An output computed from the response."""

    name: str
    from_expression: str


class HttpConfig(StrictModel):
    """Kargo's http step configuration."""

    url: str
    method: str = "GET"
    headers: list[NameValue] = Field(default_factory=list)
    query_params: list[NameValue] = Field(default_factory=list)
    body: str | None = None
    insecure_skip_tls_verify: bool = False
    timeout: str = "10s"
    success_expression: str | None = None
    failure_expression: str | None = None
    outputs: list[HttpOutput] = Field(default_factory=list)


def _response_variables(response: httpx.Response) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = response.text
    return {
        "response": {
            "status": response.status_code,
            "headers": {k.lower(): v for k, v in response.headers.items()},
            "body": body,
        }
    }


@register_step
class HttpStep(Step[HttpConfig]):
    """Send an HTTP request and succeed, fail or wait according to the response."""

    kind = "http"
    config_model = HttpConfig

    async def run(self, ctx: StepContext, config: HttpConfig) -> StepResult:
        """Send the request once and judge the response."""
        timeout = parse_duration(config.timeout).total_seconds()
        try:
            async with httpx.AsyncClient(
                timeout=timeout, verify=not config.insecure_skip_tls_verify
            ) as client:
                response = await client.request(
                    config.method.upper(),
                    config.url,
                    headers={h.name: h.value for h in config.headers},
                    params={q.name: q.value for q in config.query_params},
                    content=config.body.encode() if config.body is not None else None,
                )
        except httpx.HTTPError as exc:
            return StepResult(
                StepPhase.ERRORED,
                f"http: {config.method} {config.url}: {exc.__class__.__name__}: {exc}",
            )
        await ctx.emit(f"http: {config.method} {config.url} → {response.status_code}")
        variables = _response_variables(response)
        try:
            outputs = {o.name: evaluate(o.from_expression, variables) for o in config.outputs}
            outputs.setdefault("status", response.status_code)
            return self._judge(config, variables, outputs, response.status_code)
        except ExpressionError as exc:
            return StepResult(StepPhase.ERRORED, f"http: {exc}")

    def _judge(
        self,
        config: HttpConfig,
        variables: dict[str, Any],
        outputs: dict[str, Any],
        status: int,
    ) -> StepResult:
        if config.failure_expression and evaluate(config.failure_expression, variables) is True:
            return StepResult(
                StepPhase.FAILED,
                f"http: failure expression `{config.failure_expression}` matched (status {status})",
                outputs,
            )
        if config.success_expression:
            if evaluate(config.success_expression, variables) is True:
                return StepResult(StepPhase.SUCCEEDED, "", outputs)
            if config.failure_expression:
                return StepResult(
                    StepPhase.RUNNING,
                    f"http: waiting for `{config.success_expression}` (status {status})",
                    outputs,
                    retry_after=1.0,
                )
            return StepResult(
                StepPhase.FAILED,
                f"http: success expression `{config.success_expression}` did not match "
                f"(status {status})",
                outputs,
            )
        if config.failure_expression:
            return StepResult(StepPhase.SUCCEEDED, "", outputs)
        if 200 <= status < 300:
            return StepResult(StepPhase.SUCCEEDED, "", outputs)
        return StepResult(StepPhase.FAILED, f"http: unexpected status {status}", outputs)
