"""Kargo's `http` and `http-download` steps.

`http` sends a request and judges the response with expressions over `response.status`,
`response.headers` (lower-case names) and `response.body` (parsed as JSON, YAML or text by its
content type, or `responseContentType`). As Kargo: `failureExpression` true fails the step (its
message from `errorExpression` when that gives a string), `successExpression` true succeeds with
the `outputs`; with neither set a 2xx succeeds; otherwise the step waits `pollInterval` and asks
again (the step's retry timeout bounds the wait). Header values (often `${{ secret(...) }}`)
never appear in the step log or its messages: only the method, the URL without its query, and
the status do.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import yaml
from pydantic import Field, model_validator

from kargo.model.analysis import SecretKeyRef
from kargo.model.base import StrictModel
from kargo.model.durations import parse_duration
from kargo.secretrefs import SecretNotFound, read_secret_key
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.expressions import ExpressionError, evaluate
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.workspace import existing_file, inside
from kargo.tls import client_tls

CONTENT_TYPES = ("application/json", "application/yaml", "text/plain")


class NameValue(StrictModel):
    """A header or query parameter: a literal value, or a secret read when the step runs."""

    name: str = Field(min_length=1, description="The name.")
    value: str = Field(default="", description="The value.")
    value_from: SecretKeyRef | None = Field(
        default=None, description="A secret read when the step runs, instead of `value`."
    )

    def resolved(self) -> str:
        """The value, reading the secret now (KARGO_SECRET_<NAME>_<KEY> or the secrets folder)."""
        if self.value_from is None:
            return self.value
        return read_secret_key(self.value_from.name, self.value_from.key)


def resolved_values(kind: str, items: list[NameValue]) -> dict[str, str]:
    """Names to values (headers or query parameters), secrets read now; a missing one errors."""
    try:
        return {item.name: item.resolved() for item in items}
    except SecretNotFound as exc:
        raise StepErrored(kind, str(exc)) from exc


class HttpOutput(StrictModel):
    """An output computed from the response."""

    name: str = Field(min_length=1, description="The output's name.")
    from_expression: str = Field(min_length=1, description="An expression over `response`.")


class HttpConfig(StrictModel):
    """Kargo's http step configuration."""

    url: str = Field(min_length=1, description="The URL to request.")
    method: str = Field(default="GET", description="The HTTP method.")
    headers: list[NameValue] = Field(default_factory=list, description="Request headers.")
    query_params: list[NameValue] = Field(default_factory=list, description="Query parameters.")
    body: str | None = Field(default=None, description="The request body.")
    body_from_file: str | None = Field(
        default=None, description="A work-folder file whose contents are the body."
    )
    insecure_skip_tls_verify: bool = Field(default=False, description="Skip TLS checks.")
    proxy: str | None = Field(default=None, description="A proxy URL (with its scheme).")
    timeout: str = Field(default="10s", description="Timeout of one request.")
    poll_interval: str = Field(default="30s", description="Wait between polls.")
    response_content_type: str | None = Field(
        default=None,
        description="Parse the body as application/json, application/yaml or text/plain.",
    )
    success_expression: str | None = Field(default=None, description="True means success.")
    failure_expression: str | None = Field(default=None, description="True means failure.")
    error_expression: str | None = Field(
        default=None, description="On failure: a message drawn from the response."
    )
    outputs: list[HttpOutput] = Field(default_factory=list, description="Outputs on success.")

    @model_validator(mode="after")
    def _consistent(self) -> HttpConfig:
        if self.body is not None and self.body_from_file is not None:
            raise ValueError("body and bodyFromFile exclude each other")
        if self.response_content_type not in (None, *CONTENT_TYPES):
            raise ValueError(f"responseContentType must be one of {', '.join(CONTENT_TYPES)}")
        if self.proxy is not None and "://" not in self.proxy:
            raise ValueError("proxy must include a scheme (http://...)")
        parse_duration(self.timeout)
        parse_duration(self.poll_interval)
        return self


def shown_url(url: str) -> str:
    """The URL as logs show it: no query (it may carry tokens), no user information."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_body(response: httpx.Response, content_type: str | None) -> Any:
    """The body as Kargo parses it: by the override, the Content-Type, else JSON, else text."""
    kind = content_type or response.headers.get("content-type", "").split(";")[0].strip().lower()
    text = response.text
    if kind == "text/plain":
        return text
    if kind in ("application/yaml", "text/yaml", "application/x-yaml"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return text


def response_variables(response: httpx.Response, content_type: str | None) -> dict[str, Any]:
    """The `response` an expression sees."""
    return {
        "response": {
            "status": response.status_code,
            "headers": {k.lower(): v for k, v in response.headers.items()},
            "body": parse_body(response, content_type),
        }
    }


def _truth(expression: str | None, variables: dict[str, Any], field: str) -> bool | None:
    if not expression:
        return None
    try:
        return evaluate(expression, variables) is True
    except ExpressionError as exc:
        raise StepErrored("http", str(exc), field) from exc


def _error_message(config: HttpConfig, variables: dict[str, Any], status: int) -> str:
    default = f"http: failure expression `{config.failure_expression}` matched (status {status})"
    if not config.error_expression:
        return default
    try:
        message = evaluate(config.error_expression, variables)
    except ExpressionError:
        return default
    return f"http: {message}" if isinstance(message, str) and message else default


@register_step
class HttpStep(CheckedStep[HttpConfig]):
    """Send an HTTP request and succeed, fail or wait according to the response."""

    kind = "http"
    config_model = HttpConfig
    outputs = {"status": "the response's status code", "<name>": "each configured output"}

    async def execute(self, ctx: StepContext, config: HttpConfig) -> StepResult:
        """Do the step's work."""
        content: bytes | None = config.body.encode() if config.body is not None else None
        if config.body_from_file is not None:
            path = existing_file(ctx.work_dir, config.body_from_file, self.kind, "bodyFromFile")
            content = path.read_bytes()
        timeout = parse_duration(config.timeout).total_seconds()
        where = shown_url(config.url)
        headers = resolved_values(self.kind, config.headers)
        try:
            async with httpx.AsyncClient(
                timeout=timeout,
                verify=client_tls(not config.insecure_skip_tls_verify),
                proxy=config.proxy,
            ) as client:
                response = await client.request(
                    config.method.upper(),
                    config.url,
                    headers=headers,
                    params=resolved_values(self.kind, config.query_params),
                    content=content,
                )
        except httpx.HTTPError as exc:
            raise StepErrored(
                self.kind, f"{config.method} {where}: {exc.__class__.__name__}"
            ) from exc
        await ctx.emit(f"http: {config.method} {where} → {response.status_code}")
        variables = response_variables(response, config.response_content_type)
        status = response.status_code
        failed = _truth(config.failure_expression, variables, "failureExpression")
        succeeded = _truth(config.success_expression, variables, "successExpression")
        if failed:
            return StepResult(StepPhase.FAILED, _error_message(config, variables, status))
        if succeeded or (succeeded is None and failed is None and 200 <= status < 300):
            return StepResult(StepPhase.SUCCEEDED, "", self._outputs(config, variables, status))
        if succeeded is None and failed is None:
            return StepResult(StepPhase.FAILED, f"http: unexpected status {status}")
        waited_for = config.success_expression or f"not {config.failure_expression}"
        return StepResult(
            StepPhase.RUNNING,
            f"http: waiting for `{waited_for}` (status {status})",
            retry_after=parse_duration(config.poll_interval).total_seconds(),
        )

    def _outputs(
        self, config: HttpConfig, variables: dict[str, Any], status: int
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for index, output in enumerate(config.outputs):
            try:
                found[output.name] = evaluate(output.from_expression, variables)
            except ExpressionError as exc:
                raise StepErrored(self.kind, str(exc), f"outputs[{index}].fromExpression") from exc
        found.setdefault("status", status)
        return found


class HttpDownloadConfig(StrictModel):
    """Config of `http-download`."""

    url: str = Field(min_length=1, description="The URL to download.")
    out_path: str = Field(min_length=1, description="Where to save it in the work folder.")
    allow_overwrite: bool = Field(default=False, description="Replace an existing file.")
    headers: list[NameValue] = Field(default_factory=list, description="Request headers.")
    query_params: list[NameValue] = Field(default_factory=list, description="Query parameters.")
    insecure_skip_tls_verify: bool = Field(default=False, description="Skip TLS checks.")
    timeout: str = Field(default="5m", description="Timeout of the whole download.")


@register_step
class HttpDownloadStep(CheckedStep[HttpDownloadConfig]):
    """Download a file into the work folder (streamed to a temporary file, then renamed)."""

    kind = "http-download"
    config_model = HttpDownloadConfig

    async def execute(self, ctx: StepContext, config: HttpDownloadConfig) -> StepResult:
        """Do the step's work."""
        target = inside(ctx.work_dir, config.out_path, self.kind, "outPath")
        if target.exists() and not config.allow_overwrite:
            raise StepFailed(
                self.kind, f"{config.out_path!r} exists (set allowOverwrite)", "outPath"
            )
        where = shown_url(config.url)
        temporary = target.with_name(f".{target.name}.download")
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        try:
            async with httpx.AsyncClient(
                timeout=parse_duration(config.timeout).total_seconds(),
                verify=client_tls(not config.insecure_skip_tls_verify),
                follow_redirects=True,
            ) as client:
                async with client.stream(
                    "GET",
                    config.url,
                    headers=resolved_values(self.kind, config.headers),
                    params=resolved_values(self.kind, config.query_params),
                ) as response:
                    if response.status_code != 200:
                        raise StepErrored(self.kind, f"GET {where} answered {response.status_code}")
                    with open(temporary, "wb") as handle:
                        async for chunk in response.aiter_bytes():
                            handle.write(chunk)
                            size += len(chunk)
            os.replace(temporary, target)
        except httpx.HTTPError as exc:
            raise StepErrored(self.kind, f"GET {where}: {exc.__class__.__name__}") from exc
        finally:
            if temporary.exists():
                temporary.unlink()
        await ctx.emit(f"http-download: {where} → {config.out_path} ({size} bytes)")
        return StepResult(StepPhase.SUCCEEDED, f"downloaded {size} bytes to {config.out_path}")
