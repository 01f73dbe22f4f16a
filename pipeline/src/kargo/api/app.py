"""The FastAPI app: routes of docs/api.md over one store and one engine."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from kargo import __version__
from kargo.api import access, insight, reading, series, ui, watching, webhooks, writing
from kargo.api.contract import ERROR_RESPONSES
from kargo.api.errors import install_error_handlers
from kargo.api.gate import RequestGate
from kargo.api.security import guard
from kargo.api.state import ServerState


def create_app(state: ServerState) -> FastAPI:
    """An app serving the engine's API; the caller runs the engine (see `kargo.api.server`)."""
    app = FastAPI(
        title="kargo",
        version=__version__,
        description="The pipeline engine's API (docs/api.md); bearer tokens (docs/security.md).",
        dependencies=[Depends(guard)],
        responses=ERROR_RESPONSES,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.kargo = state
    app.add_middleware(RequestGate, store=state.store)  # token and body cap before any body
    install_error_handlers(app)
    app.include_router(access.root)
    app.include_router(access.router)
    app.include_router(watching.router)
    app.include_router(writing.router)
    app.include_router(webhooks.router)
    app.include_router(series.router)
    app.include_router(insight.router)  # before reading's /projects/{project}/{plural}
    app.include_router(reading.router)
    app.include_router(ui.router)
    return app
