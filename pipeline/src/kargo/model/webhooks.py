"""WebhookConfig: where signed notifications go, which events, how they are signed and retried.

Secrets never appear in a WebhookConfig: `secretRef` and header `valueFrom` name an environment
variable or a file, read only when a delivery is sent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, field_validator, model_validator

from kargo.model.base import Resource, StrictModel
from kargo.model.durations import EXAMPLES, duration_seconds

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 3600.0, 21600.0)
DEFAULT_GIVE_UP_AFTER = 86400.0


def parse_duration(value: object) -> float:
    """Seconds from a number (YAML `30`) or a duration string (`5s`, `2m`, `1h`, `250ms`)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, {EXAMPLES}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        return duration_seconds(value)
    raise ValueError(f"expected a duration, {EXAMPLES}, got {value!r}")


Duration = Annotated[float, BeforeValidator(parse_duration)]


class WebhookFormat(StrEnum):
    """How a delivery's body is shaped."""

    STANDARD = "standard"
    SLACK = "slack"


class SecretSource(StrictModel):
    """Where a secret is read from: an environment variable or a file (exactly one)."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of `env` or `file`")
        return self

    def describe(self) -> str:
        """Where the secret lives, for messages (never the value)."""
        return f"env {self.env}" if self.env is not None else f"file {self.file}"


class SecretRef(SecretSource):
    """The signing secret (`whsec_…`), plus the previous one while a new secret is rolled out."""

    previous: SecretSource | None = None


class WebhookHeader(StrictModel):
    """An extra request header: a literal value, or one read from a secret."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    value: str | None = None
    value_from: SecretSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> WebhookHeader:
        if (self.value is None) == (self.value_from is None):
            raise ValueError(f"header {self.name}: give exactly one of `value` or `valueFrom`")
        return self


class RetryPolicy(StrictModel):
    """Backoff delays after each failed attempt, their jitter, and when to stop."""

    backoff: list[Duration] = Field(default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE))
    jitter: float = Field(default=0.2, ge=0.0, le=1.0)
    give_up_after: Duration = DEFAULT_GIVE_UP_AFTER


class WebhookConfigSpec(StrictModel):
    """What a WebhookConfig declares."""

    url: str
    url_from: SecretSource | None = None
    """The full URL read at send time when its path is the secret (Slack); `url` then names
    only where it goes (scheme and host must agree), for logs and the delivery log."""
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    format: WebhookFormat = WebhookFormat.STANDARD
    secret_ref: SecretRef | None = None
    headers: list[WebhookHeader] = Field(default_factory=list)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, got {redact_url(url)!r}")
        return url

    @model_validator(mode="after")
    def _standard_needs_secret(self) -> WebhookConfigSpec:
        if self.format is WebhookFormat.STANDARD and self.secret_ref is None:
            raise ValueError("format `standard` deliveries are signed: set `secretRef`")
        return self


class WebhookConfigStatus(StrictModel):
    """Nothing is kept here: delivery state lives in the delivery log."""


class WebhookConfig(Resource[WebhookConfigSpec, WebhookConfigStatus]):
    """A webhook endpoint that receives signed notifications of pipeline events."""

    kind: Literal["WebhookConfig"] = "WebhookConfig"
    status: WebhookConfigStatus = Field(default_factory=WebhookConfigStatus)


def redact_url(url: str) -> str:
    """The URL's scheme and host only: paths (Slack's carry a token) and queries are dropped."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"
