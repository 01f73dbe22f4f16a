"""`serve()`: open the store, apply the configuration folder, run the engine and the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from kargo.api.app import create_app
from kargo.api.binding import BindingError, Tls, check_binding, first_start_token, server_url
from kargo.api.errors import config_error_message
from kargo.api.state import ServerState
from kargo.auth import Policy, PolicyError, default_policy, load_policy
from kargo.config import ConfigError, load_texts
from kargo.config.loading import config_files
from kargo.engine.applying import apply_resources
from kargo.engine.controller import Engine
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


def _dispatcher(state: ServerState) -> Any:
    try:
        from kargo.model.webhooks import WebhookConfig
        from kargo.notify.dispatcher import WebhookDispatcher
    except ImportError:
        return None
    from kargo.store import list_models

    return WebhookDispatcher(
        state.store.engine,
        lambda: list_models(state.store, WebhookConfig),
        base_dir=state.state_dir,
    )


@contextlib.asynccontextmanager
async def running(state: ServerState) -> AsyncIterator[ServerState]:
    """Campaign for leadership in the background for the block's duration (see `lead`)."""
    stopping = asyncio.Event()
    task = asyncio.create_task(lead(state, stopping), name="leadership")
    try:
        yield state
    finally:
        stopping.set()
        await asyncio.gather(task, return_exceptions=True)


async def lead(state: ServerState, stopping: asyncio.Event) -> None:
    """While this server holds the engine lease: run the engine and the webhook dispatcher.

    A lost lease stops both (running promotions stay Running; the next leader resumes them)
    and the server stands by again. Stopping gives the lease up so a standby takes over at once.
    """
    leadership = state.leadership
    while await leadership.acquire(stopping):
        engine = Engine(state.store, state.state_dir)
        state.engine = engine
        engine_task = asyncio.create_task(engine.run(), name="engine")
        state.dispatcher = _dispatcher(state)
        if state.dispatcher is not None:
            await state.dispatcher.start()
        kept = asyncio.create_task(leadership.keep(), name="lease-renewal")
        stop = asyncio.create_task(stopping.wait(), name="stop")
        try:
            await asyncio.wait({kept, stop, engine_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            kept.cancel()
            stop.cancel()
            if state.dispatcher is not None:
                await state.dispatcher.stop()
                state.dispatcher = None
            await engine.stop()
            await asyncio.gather(engine_task, return_exceptions=True)
            state.engine = None
        if stopping.is_set():
            await asyncio.to_thread(leadership.give_up)
            return
        log.warning("this server no longer leads; standing by")


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
    state = open_state(config_dir, state_dir, database_url, read_policy(config_dir, rbac))
    try:
        claim_sqlite_state(state)
    except ServerError:
        state.store.close()
        raise
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
