"""What the API's routes share: the store; while this server leads, its engine and dispatcher."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from kargo.auth.policy import Policy, Principal, default_policy
from kargo.engine.controller import Engine
from kargo.engine.leadership import Leadership
from kargo.store import Store


@dataclass
class ServerState:
    """The server's parts."""

    store: Store
    leadership: Leadership
    state_dir: Path
    engine: Engine | None = None  # set while this server leads
    dispatcher: Any = None  # set while this server leads, when webhooks are available
    policy: Policy = field(default_factory=default_policy)
    closing: asyncio.Event = field(default_factory=asyncio.Event)  # set when shutdown begins


def server_state(request: Request) -> ServerState:
    """The state of the app serving the request."""
    state = request.app.state.kargo
    assert isinstance(state, ServerState)
    return state


def actor_of(request: Request) -> str:
    """Who is asking: the subject of the request's bearer token (set by `security.guard`)."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise RuntimeError("actor_of called on a request that was not authenticated")
    return principal.subject
