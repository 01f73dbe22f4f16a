"""What the API's routes share: the store, the engine and the optional webhook dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request

from kargo.engine.controller import Engine
from kargo.store import Store

LOCAL_ACTOR = "local-user"


@dataclass
class ServerState:
    """The server's parts."""

    store: Store
    engine: Engine
    state_dir: Path
    dispatcher: Any = None


def server_state(request: Request) -> ServerState:
    """The state of the app serving the request."""
    state = request.app.state.kargo
    assert isinstance(state, ServerState)
    return state


def actor_of(request: Request) -> str:
    """Who is asking: the `X-Kargo-Actor` header, or the local user (loopback only for now)."""
    return request.headers.get("x-kargo-actor") or LOCAL_ACTOR
