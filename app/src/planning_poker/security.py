"""Participant tokens and the security headers every answer carries."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from planning_poker.metrics import ASGIApp, Message, Receive, Scope, Send
from planning_poker.origins import socket_sources

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src {sockets}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def new_token() -> str:
    """A fresh participant token (256 random bits)."""
    return secrets.token_urlsafe(32)


def hash_token(secret: bytes, token: str) -> str:
    """What the database keeps instead of the token itself."""
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()


def content_security_policy(scope: Scope, allowed_origins: list[str]) -> str:
    """The CSP of an answer: sockets may connect only to the app's own origin."""
    return CONTENT_SECURITY_POLICY.format(sockets=socket_sources(scope, allowed_origins))


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP answer."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str] | None = None) -> None:
        self.app = app
        self.allowed_origins = allowed_origins or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        policy = (
            b"content-security-policy",
            content_security_policy(scope, self.allowed_origins).encode(),
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), policy, *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
