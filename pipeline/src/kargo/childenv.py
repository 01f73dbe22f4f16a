"""The environment a child process gets: an allow-list, never the engine's own secrets.

Builds, `shell` steps, analysis jobs and app instances run code that came with a freight or a
configuration. They get only what a process needs to run (PATH, HOME, locale, temporary folder,
time zone, user name) plus, for builds, the package installer's and proxies' settings; the
database URL, webhook secrets, `KARGO_SECRET_*`, tokens and anything else the engine was started
with stay in the engine. A leaf module under every layer: steps, analysis and runtime use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "USER", "LOGNAME")
BUILD_ENV = (
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "XDG_CACHE_HOME",
)
BUILD_PREFIXES = ("UV_",)
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def child_env(
    extra: Mapping[str, str] | None = None,
    *,
    build: bool = False,
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The allow-listed part of source (default: this process's environment), then extra."""
    source = os.environ if source is None else source
    names = BASE_ENV + (BUILD_ENV if build else ())
    env = {name: source[name] for name in names if name in source}
    if build:
        env.update({k: v for k, v in source.items() if k.startswith(BUILD_PREFIXES)})
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(extra or {})
    return env
