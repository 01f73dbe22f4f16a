"""One HTTP attempt of a delivery: sign, POST (never following redirects), classify the answer."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import httpx

from kargo.model.webhooks import WebhookConfig, redact_url
from kargo.notify.retry import parse_retry_after
from kargo.notify.signing import SecretUnavailable, request_headers, target_url
from kargo.tls import client_tls

RESPONSE_EXCERPT = 1024
_SENDING: ContextVar[bool] = ContextVar("kargo_webhook_sending", default=False)


class RedactWebhookUrls(logging.Filter):
    """httpx logs each request's full URL; a webhook URL's path may be a token (Slack's is)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, with webhook URLs cut to scheme and host."""
        if _SENDING.get() and isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(RedactWebhookUrls())


class AttemptOutcome(StrEnum):
    """What one attempt tells the dispatcher to do next."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"
    BROKEN_CONFIG = "broken-config"


@dataclass(frozen=True)
class AttemptResult:
    """The answer to one attempt (no secrets in any field)."""

    outcome: AttemptOutcome
    status_code: int | None
    latency_ms: float
    error: str | None = None
    retry_after: float | None = None
    response_body: str = ""

    @property
    def ok(self) -> bool:
        """Whether the endpoint accepted the delivery."""
        return self.outcome is AttemptOutcome.DELIVERED


def new_client() -> httpx.AsyncClient:
    """The dispatcher's HTTP client: no redirects, no environment proxies, modest pool."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    return httpx.AsyncClient(
        follow_redirects=False, trust_env=False, limits=limits, verify=client_tls()
    )


async def attempt_delivery(
    client: httpx.AsyncClient,
    config: WebhookConfig,
    message_id: str,
    body: str,
    base_dir: Path | None = None,
) -> AttemptResult:
    """POST one signed delivery and classify the outcome; never raises for I/O errors."""
    started = time.perf_counter()
    moment = datetime.now(UTC).replace(microsecond=0)
    try:
        headers = request_headers(config, message_id, moment, body, base_dir)
        url = target_url(config, base_dir)
    except SecretUnavailable as exc:
        return AttemptResult(AttemptOutcome.BROKEN_CONFIG, None, 0.0, str(exc))
    token = _SENDING.set(True)
    try:
        response = await client.post(
            url,
            content=body.encode(),
            headers=headers,
            timeout=config.spec.timeout_seconds,
        )
    except httpx.TimeoutException:
        latency = (time.perf_counter() - started) * 1000
        error = f"no answer from {redact_url(config.spec.url)} in {config.spec.timeout_seconds}s"
        return AttemptResult(AttemptOutcome.RETRY, None, latency, error)
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        error = f"cannot reach {redact_url(config.spec.url)}: {type(exc).__name__}"
        return AttemptResult(AttemptOutcome.RETRY, None, latency, error)
    finally:
        _SENDING.reset(token)
    latency = (time.perf_counter() - started) * 1000
    text = response.text[:RESPONSE_EXCERPT]
    code = response.status_code
    if 200 <= code < 300:
        return AttemptResult(AttemptOutcome.DELIVERED, code, latency, None, None, text)
    if code == 410:
        error = "410 Gone: the endpoint asked to be disabled"
        return AttemptResult(AttemptOutcome.GONE, code, latency, error, None, text)
    if 300 <= code < 400:
        error = f"HTTP {code} redirect not followed (update the URL)"
    else:
        error = f"HTTP {code}"
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return AttemptResult(AttemptOutcome.RETRY, code, latency, error, retry_after, text)
