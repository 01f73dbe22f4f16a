"""Who may call the checks service and what it may touch: a bearer token, roots and targets.

The service reads files only inside its configured roots (the stage source folders) and sends
traffic only to allowed targets (the stage URLs, and the app instances listed in the runtime's
Prometheus targets file), with bounds on load users and duration. A person running a suite from
the command line is not limited: the limits guard the HTTP service, which acts for its callers.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from poker_checks.layout import resolve_layout
from poker_checks.osv_online import DEFAULT_OSV_URL, OSV_URL_ENV
from poker_checks.targets import LoadRequest, SecurityRequest, SmokeRequest

TOKEN_ENV = "POKER_CHECKS_TOKEN"
TOKEN_FILE_ENV = "POKER_CHECKS_TOKEN_FILE"
ROOTS_ENV = "POKER_CHECKS_ROOTS"
TARGETS_ENV = "POKER_CHECKS_TARGETS"
TARGETS_FILE_ENV = "POKER_CHECKS_TARGETS_FILE"
DEFAULT_MAX_USERS = 50
DEFAULT_MAX_DURATION = 120.0


class RequestRefused(Exception):
    """A request names a file outside the roots or a target outside the allow-list."""


class SettingsError(Exception):
    """The service cannot start with these settings (no token, an unreadable token file)."""


def origin_of(url: str) -> str:
    """scheme://host:port of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RequestRefused(f"{url!r} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def read_token_file(path: Path, create: bool = False) -> str:
    """The token kept in path; with create, a new random one is written there (0600) if absent."""
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"cannot read the token file {path}: {exc.strerror}") from exc
    if not token:
        raise SettingsError(f"the token file {path} is empty")
    return token


@dataclass(frozen=True)
class ServiceSettings:
    """The token callers present, the folders it reads, the URLs it may send traffic to."""

    token: str
    roots: tuple[Path, ...] = ()
    targets: frozenset[str] = frozenset()
    targets_file: Path | None = None
    osv_urls: frozenset[str] = field(default_factory=frozenset)
    max_users: int = DEFAULT_MAX_USERS
    max_duration_seconds: float = DEFAULT_MAX_DURATION

    @classmethod
    def build(
        cls,
        token: str,
        roots: Iterable[str | Path] = (),
        targets: Iterable[str] = (),
        **options: object,
    ) -> ServiceSettings:
        """Settings with roots resolved and targets reduced to their origins."""
        osv = {DEFAULT_OSV_URL, os.environ.get(OSV_URL_ENV) or DEFAULT_OSV_URL}
        return cls(
            token=token,
            roots=tuple(Path(root).resolve() for root in roots),
            targets=frozenset(origin_of(target) for target in targets),
            osv_urls=frozenset(url.rstrip("/") for url in osv),
            **options,  # type: ignore[arg-type]
        )

    def authenticated(self, authorization: str | None) -> bool:
        """Whether an Authorization header carries this service's bearer token."""
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return False
        return hmac.compare_digest(presented.strip().encode(), self.token.encode())

    def inside_roots(self, raw: str | Path, what: str) -> Path:
        """The resolved path when it lies inside a root (symlinks followed), else RequestRefused."""
        path = Path(raw).resolve()
        if any(path == root or path.is_relative_to(root) for root in self.roots):
            return path
        allowed = ", ".join(str(root) for root in self.roots) or "none configured (--root DIR)"
        raise RequestRefused(
            f"{what} {str(raw)!r} is outside the folders this service reads: {allowed}"
        )

    def allowed_origins(self) -> set[str]:
        """The configured targets plus the app instances in the runtime's targets file."""
        allowed = set(self.targets)
        if self.targets_file is not None:
            allowed |= _instances_in(self.targets_file)
        return allowed

    def check_target(self, url: str) -> None:
        """Refuse a URL whose origin is not an allowed target."""
        origin = origin_of(url)
        allowed = self.allowed_origins()
        if origin not in allowed:
            names = ", ".join(sorted(allowed)) or "none configured (--target URL)"
            raise RequestRefused(f"target {url!r} is not an allowed target: {names}")


def _instances_in(path: Path) -> set[str]:
    """http://host:port of every app instance in a Prometheus file_sd targets file."""
    try:
        groups = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    found: set[str] = set()
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict) or (group.get("labels") or {}).get("component") != "app":
            continue
        for target in group.get("targets") or []:
            try:
                found.add(origin_of(f"http://{target}"))
            except RequestRefused:
                continue
    return found


def check_smoke(settings: ServiceSettings, request: SmokeRequest) -> None:
    """The smoke target must be allowed."""
    settings.check_target(request.url)


def check_load(settings: ServiceSettings, request: LoadRequest) -> None:
    """The load target must be allowed, its users and duration within the service's bounds."""
    settings.check_target(request.url)
    if request.users > settings.max_users:
        raise RequestRefused(
            f"users {request.users} is above this service's bound {settings.max_users}"
        )
    if request.duration_seconds > settings.max_duration_seconds:
        raise RequestRefused(
            f"duration_seconds {request.duration_seconds:g} is above this service's bound "
            f"{settings.max_duration_seconds:g}"
        )


def check_security(settings: ServiceSettings, request: SecurityRequest) -> SecurityRequest:
    """The request with every path resolved inside the roots, and an allowed OSV service."""
    if not request.source:
        raise RequestRefused("source is required: the stage's source folder")
    changes: dict[str, str] = {}
    for name in ("source", "lock", "config_dir", "env_file", "venv", "advisory_db"):
        value = getattr(request, name)
        if value:
            changes[name] = str(settings.inside_roots(value, name))
    if request.osv_url and request.osv_url.rstrip("/") not in settings.osv_urls:
        allowed = ", ".join(sorted(settings.osv_urls))
        raise RequestRefused(f"osv_url {request.osv_url!r} is not allowed: {allowed}")
    checked = request.model_copy(update=changes)
    layout = resolve_layout(checked)
    for name in ("lock", "pyproject", "code", "config_dir"):
        found = getattr(layout, name)
        if found is not None and found.exists():
            settings.inside_roots(found, name)  # a symlink in the source may point elsewhere
    return checked
