"""Where the server may listen, its private state folder, and the admin token of its first start."""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from kargo.auth.credentials import ConfigFileError, remember_server_token
from kargo.auth.secretfiles import AuditKeyError, audit_key_path, load_audit_key
from kargo.auth.tokens import SYSTEM_ACTOR, bootstrap_admin_token
from kargo.store import Store
from kargo.store.auditchain import is_keyed, use_audit_key

log = logging.getLogger(__name__)
ADMIN_TOKEN_FILE = "admin.token"


class BindingError(Exception):
    """The server may not listen there; the message says what to do."""


@dataclass(frozen=True)
class Tls:
    """A certificate and its key (PEM files)."""

    cert: Path
    key: Path


def is_loopback(host: str) -> bool:
    """Whether the address only reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, tls: Tls | None, insecure_bind_all: bool) -> None:
    """Loopback always; any other address only with TLS or an explicit `--insecure-bind-all`."""
    if is_loopback(host) or insecure_bind_all:
        if not is_loopback(host):
            log.warning("listening on %s without TLS: tokens cross the network in clear", host)
        return
    if tls is None:
        raise BindingError(
            f"refusing to listen on {host} without TLS: give --tls-cert and --tls-key, "
            "or --insecure-bind-all to accept clear-text tokens on the network"
        )
    for path in (tls.cert, tls.key):
        if not path.is_file():
            raise BindingError(f"TLS file {path} does not exist")


TRUSTED_PROXIES_ENV = "KARGO_TRUSTED_PROXIES"


def trusted_proxies() -> list[str]:
    """The proxy addresses whose X-Forwarded-For is believed (none unless configured)."""
    raw = os.environ.get(TRUSTED_PROXIES_ENV, "")
    return [item.strip() for item in raw.split(",") if item.strip()]


def server_url(host: str, port: int, tls: Tls | None) -> str:
    """The address clients use (loopback for a wildcard bind)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def write_secret_file(path: Path, secret: str) -> None:
    """Write a secret readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)


def use_audit_key_of(state_dir: Path) -> None:
    """Chain audit records with the state folder's audit key, made on the first start."""
    try:
        use_audit_key(load_audit_key(audit_key_path(state_dir), create=True))
    except AuditKeyError as exc:
        raise BindingError(str(exc)) from exc


def mark_keyed_chain(store: Store) -> None:
    """A trail whose newest record predates the key gets a keyed record saying so."""
    head = store.audit_head()
    if head is None or head[1] == 0 or is_keyed(head[0]):
        return
    with store.transaction() as tx:
        tx.audit(
            project="",
            actor=SYSTEM_ACTOR,
            action="audit.key",
            resource="audit/key",
            source="engine",
            result="ok: records are keyed with the audit key from here on",
        )


def private_state_dir(state_dir: Path) -> None:
    """Make the state folder owner-only (0700, its files 0600) and everything the server creates.

    The database, logs, received webhooks, stage secrets and tokens live under it; the umask
    077 makes every file this process and its children create readable by the owner only.
    """
    os.umask(0o077)
    state_dir.mkdir(parents=True, exist_ok=True)
    # stages that run as another user (`runAs`) pass through these three folders, list none
    shared = {state_dir, state_dir / "stages", state_dir / "envs"}
    passable = shared if _run_as(state_dir) else set()
    os.chmod(state_dir, 0o711 if state_dir in passable else 0o700)
    for entry in state_dir.iterdir():
        if entry.is_symlink():
            continue
        mode = 0o711 if entry in passable else 0o700
        os.chmod(entry, mode if entry.is_dir() else 0o600)


def _run_as(state_dir: Path) -> bool:
    """Whether a stage's folder belongs to another user (its processes run as that user)."""
    stages = state_dir / "stages"
    if not stages.is_dir():
        return False
    return any(
        folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid != os.geteuid()
        for folder in stages.iterdir()
    )


def first_start_token(
    store: Store, state_dir: Path, url: str, save_to_config: bool = False
) -> str | None:
    """On the first start, create the admin token and save it (0600); say where, never what.

    Only when asked (`--save-token`) does it also go into the CLI config file, so throwaway
    servers leave no credentials behind in the user's home.
    """
    secret = bootstrap_admin_token(store)
    if secret is None:
        return None
    state_dir.mkdir(parents=True, exist_ok=True)
    write_secret_file(state_dir / ADMIN_TOKEN_FILE, secret)
    where = f"{state_dir / ADMIN_TOKEN_FILE}"
    try:
        if save_to_config:
            config = remember_server_token(url, secret, state_dir)
            where += f" and the CLI config {config} (entry {url})"
    except ConfigFileError as exc:
        log.warning("could not save the admin token in the CLI config: %s", exc)
    # stderr often ends in a log file: the token itself is never printed
    sys.stderr.write(f"kargo server: first start; the admin token is saved in {where}\n")
    return secret
