"""`serve()`: open the store, apply the configuration folder, run the engine and the API."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from kargo.api.app import create_app
from kargo.api.errors import config_error_message
from kargo.api.state import ServerState
from kargo.config import ConfigError, load_path
from kargo.engine.applying import apply_resources
from kargo.engine.controller import Engine
from kargo.engine.registration import register_higher_layer_parsers
from kargo.store import Store, StoreError

log = logging.getLogger(__name__)


class ServerError(Exception):
    """The server cannot start; the message says why and what to do."""


def check_loopback(host: str) -> None:
    """Refuse to listen beyond this machine until access control exists."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ServerError(f"refusing to listen on {host}: only loopback addresses (127.0.0.1)")


def open_state(config_dir: Path | None, state_dir: Path, database_url: str | None) -> ServerState:
    """Open and migrate the store and apply the configuration (all or nothing)."""
    register_higher_layer_parsers()
    try:
        store = Store.open(database_url, state_dir)
    except StoreError as exc:
        raise ServerError(str(exc)) from exc
    if config_dir is not None:
        try:
            results = apply_resources(store, load_path(config_dir), actor="server", source="config")
        except ConfigError as exc:
            store.close()
            raise ServerError(f"{config_dir}: {config_error_message(exc)}") from exc
        changed = [r for r in results if r.action.value != "unchanged"]
        log.info("applied %s: %d resources, %d changed", config_dir, len(results), len(changed))
    return ServerState(store=store, engine=Engine(store, state_dir), state_dir=state_dir)


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
    """Run the engine (and the webhook dispatcher) in the background for the block's duration."""
    engine_task = asyncio.create_task(state.engine.run(), name="engine")
    state.dispatcher = _dispatcher(state)
    if state.dispatcher is not None:
        await state.dispatcher.start()
    try:
        yield state
    finally:
        if state.dispatcher is not None:
            await state.dispatcher.stop()
        await state.engine.stop()
        await asyncio.gather(engine_task, return_exceptions=True)


def serve(
    config_dir: Path | None,
    state_dir: Path,
    database_url: str | None,
    host: str,
    port: int,
) -> None:
    """Run the engine and its API server until interrupted."""
    check_loopback(host)
    state = open_state(config_dir, state_dir, database_url)
    app = create_app(state)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with running(state):
            yield

    app.router.lifespan_context = lifespan
    config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="on")
    try:
        uvicorn.Server(config).run()
    finally:
        state.store.close()
