"""The app's own origin: which pages may open its WebSockets, and where pages may connect.

With no configured origins the app's own origin is the one its `Host` header names (any
scheme: TLS may end at the proxy). A WebSocket upgrade without `Origin` comes from a
non-browser client and is let through: browsers always send it, and only a browser would
carry a victim's session to another site's page.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def _header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def origin_allowed(scope: MutableMapping[str, Any], allowed: list[str]) -> bool:
    """Whether the request's Origin is one of ours (absent counts as ours)."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    if allowed:
        return origin.rstrip("/").lower() in allowed
    host = _header(scope, b"host")
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()


def socket_sources(scope: MutableMapping[str, Any], allowed: list[str]) -> str:
    """The CSP `connect-src` list: this origin, and its WebSocket form, nothing else."""
    if allowed:
        hosts = [urlsplit(origin) for origin in allowed]
        extra = [("wss://" if o.scheme == "https" else "ws://") + o.netloc for o in hosts]
    else:
        host = _header(scope, b"host") or ""
        extra = [f"ws://{host}", f"wss://{host}"] if HOST.match(host) else []
    return " ".join(["'self'", *extra])
