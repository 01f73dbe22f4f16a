"""`serve()`: open the store, apply the configuration folder, run the engine and the API.

The API runs on uvicorn's event loop; the engine on a thread of its own (`hosting.py`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from kargo.api.app import create_app
from kargo.api.binding import (
    BindingError,
    Tls,
    check_binding,
    first_start_token,
    mark_keyed_chain,
    private_state_dir,
    server_url,
    trusted_proxies,
    use_audit_key_of,
)
from kargo.api.errors import config_error_message
from kargo.api.hosting import running
from kargo.api.state import ServerState
from kargo.auth.policy import Policy, PolicyError, default_policy, load_policy
from kargo.config import ConfigError, load_texts
from kargo.config.loading import config_files
from kargo.engine.applying import apply_resources
from kargo.engine.leadership import Leadership
from kargo.engine.registration import register_higher_layer_parsers
from kargo.store import Store, StoreError

log = logging.getLogger(__name__)


class ServerError(Exception):
    """The server cannot start; the message says why and what to do."""


RBAC_FILE = "rbac.yaml"
SQLITE_CLAIM_WAIT = 5.0  # a server that is stopping releases the lease within this time
SHUTDOWN_GRACE_SECONDS = 5  # open requests get this long after SIGTERM; watch streams end at once


def read_policy(config_dir: Path | None, rbac: Path | None) -> Policy:
    """`--rbac FILE`, else `rbac.yaml` in the configuration folder, else the built-in policy."""
    path = rbac
    if path is None and config_dir is not None and (config_dir / RBAC_FILE).is_file():
        path = config_dir / RBAC_FILE
    try:
        return load_policy(path) if path is not None else default_policy()
    except PolicyError as exc:
        raise ServerError(str(exc)) from exc


def _load_config(config_dir: Path) -> list[Any]:
    """The folder's resources; the access policy file is not a resource and is skipped."""
    if not config_dir.exists():
        raise ServerError(f"{config_dir}: no such file or folder")
    texts = []
    for file in config_files(config_dir):
        if file.name == RBAC_FILE and config_dir.is_dir():
            continue
        try:
            texts.append((file.read_text(encoding="utf-8"), str(file)))
        except OSError as exc:
            raise ServerError(f"{file}: cannot read: {exc}") from exc
    return load_texts(texts)


def open_state(
    config_dir: Path | None,
    state_dir: Path,
    database_url: str | None,
    policy: Policy | None = None,
) -> ServerState:
    """Open and migrate the store and apply the configuration (all or nothing)."""
    register_higher_layer_parsers()
    try:
        store = Store.open(database_url, state_dir)
    except StoreError as exc:
        raise ServerError(str(exc)) from exc
    if config_dir is not None:
        try:
            results = apply_resources(
                store,
                _load_config(config_dir),
                actor="system",
                source="config",
                state_dir=state_dir,
            )
        except ServerError:
            store.close()
            raise
        except ConfigError as exc:
            store.close()
            raise ServerError(f"{config_dir}: {config_error_message(exc)}") from exc
        changed = [r for r in results if r.action.value != "unchanged"]
        log.info("applied %s: %d resources, %d changed", config_dir, len(results), len(changed))
    return ServerState(
        store=store,
        leadership=Leadership(store),
        state_dir=state_dir,
        policy=policy or default_policy(),
    )


def claim_sqlite_state(state: ServerState) -> None:
    """On SQLite, be the state folder's only server (waiting out one that is shutting down)."""
    if state.store.dialect != "sqlite":
        return
    deadline = time.monotonic() + SQLITE_CLAIM_WAIT
    while not state.leadership.claim():
        if time.monotonic() > deadline:
            holder = state.leadership.current_holder() or "another server"
            raise ServerError(
                f"{state.state_dir}: the state folder is in use by {holder}. Run one server per "
                "SQLite state folder (--state-dir), or give every server the same PostgreSQL "
                "database (--database-url) so that one leads and the others stand by"
            )
        time.sleep(0.5)


def serve(
    config_dir: Path | None,
    state_dir: Path,
    database_url: str | None,
    host: str,
    port: int,
    *,
    tls: Tls | None = None,
    insecure_bind_all: bool = False,
    rbac: Path | None = None,
    save_token: bool = False,
) -> None:
    """Run the engine and its API server until interrupted."""
    try:
        check_binding(host, tls, insecure_bind_all)
    except BindingError as exc:
        raise ServerError(str(exc)) from exc
    private_state_dir(state_dir)
    try:
        use_audit_key_of(state_dir)
    except BindingError as exc:
        raise ServerError(str(exc)) from exc
    state = open_state(config_dir, state_dir, database_url, read_policy(config_dir, rbac))
    try:
        claim_sqlite_state(state)
    except ServerError:
        state.store.close()
        raise
    mark_keyed_chain(state.store)
    first_start_token(state.store, state_dir, server_url(host, port, tls), save_token)
    log.info("access policy: %s", state.policy.source)
    log.info("dashboard: %s/ui/ (sign in with an API token)", server_url(host, port, tls))
    app = create_app(state)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with running(state):
            yield

    app.router.lifespan_context = lifespan
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        lifespan="on",
        # X-Forwarded-For is believed only from the proxies named in $KARGO_TRUSTED_PROXIES:
        # any local process could otherwise forge the address the audit trail records
        proxy_headers=bool(trusted_proxies()),
        forwarded_allow_ips=trusted_proxies() or None,
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    try:
        _ClosingServer(config, state).run()
    finally:
        state.store.close()


class _ClosingServer(uvicorn.Server):
    """Uvicorn that ends the watch streams when shutdown begins (it would wait for them)."""

    def __init__(self, config: uvicorn.Config, state: ServerState) -> None:
        super().__init__(config)
        self.kargo = state

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        """Close the streams, then shut down as uvicorn does."""
        self.kargo.closing.set()
        await super().shutdown(sockets)
