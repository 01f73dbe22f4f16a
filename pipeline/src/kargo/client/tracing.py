"""klog-style request tracing for `--v=N`: each request and response, timed, credentials redacted.

Levels follow kubectl: 4 and above logs method, URL, status and timing with the (redacted) request
headers; 8 and above adds the bodies, cut to a readable length.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

logger = logging.getLogger("kargo.client")

REDACTED = "<redacted>"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-kargo-token"}
)
SENSITIVE_WORDS = ("token", "secret", "password", "key", "signature")
TRACE_LEVEL = 4
BODY_LEVEL = 8
BODY_LIMIT = 2000


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of headers where credentials are replaced, keeping the auth scheme visible."""
    redacted: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in SENSITIVE_HEADERS:
            scheme, _, rest = value.partition(" ")
            redacted[name] = f"{scheme} {REDACTED}" if rest else REDACTED
        else:
            redacted[name] = value
    return redacted


def redact_url(url: str) -> str:
    """The URL with credential-looking query values and userinfo passwords replaced."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}"
    query = urlencode(
        [
            (k, REDACTED if any(w in k.lower() for w in SENSITIVE_WORDS) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="<>",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _body_preview(content: bytes) -> str:
    text = content.decode("utf-8", errors="replace")
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"… ({len(text)} chars)"


class RequestTracer:
    """httpx event hooks that log each exchange at klog verbosity `level`."""

    def __init__(self, level: int) -> None:
        self.level = level

    @property
    def enabled(self) -> bool:
        """Whether anything is logged at all."""
        return self.level >= TRACE_LEVEL

    def on_request(self, request: httpx.Request) -> None:
        """Remember when the request left and log it."""
        request.extensions["kargo_started"] = time.perf_counter()
        if not self.enabled:
            return
        headers = redact_headers(dict(request.headers))
        shown = " ".join(f"{k}={v!r}" for k, v in sorted(headers.items()))
        logger.info("%s %s headers: %s", request.method, redact_url(str(request.url)), shown)
        if self.level >= BODY_LEVEL and request.content:
            logger.info("request body: %s", _body_preview(request.content))

    def on_response(self, response: httpx.Response) -> None:
        """Log the status and the time since the request left."""
        if not self.enabled:
            return
        started = response.request.extensions.get("kargo_started", time.perf_counter())
        elapsed_ms = (time.perf_counter() - float(started)) * 1000
        logger.info(
            "%s %s %d %s in %.0f milliseconds",
            response.request.method,
            redact_url(str(response.request.url)),
            response.status_code,
            response.reason_phrase,
            elapsed_ms,
        )
        if self.level >= BODY_LEVEL and not response.is_stream_consumed:
            content_type = response.headers.get("content-type", "")
            if "event-stream" not in content_type and "follow=true" not in str(
                response.request.url
            ):
                response.read()
                logger.info("response body: %s", _body_preview(response.content))
