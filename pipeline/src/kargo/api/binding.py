"""Where the server may listen, and the admin token of its first start."""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from kargo.auth import bootstrap_admin_token
from kargo.auth.credentials import ConfigFileError, remember_server_token
from kargo.store import Store

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


def first_start_token(
    store: Store, state_dir: Path, url: str, save_to_config: bool = False
) -> str | None:
    """On the first start, create the admin token, save it (0600) and print it once.

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
    sys.stderr.write(
        f"kargo server: first start; admin token (shown once, saved in {where}):\n{secret}\n"
    )
    return secret
