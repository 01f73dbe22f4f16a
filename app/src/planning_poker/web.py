"""The ASGI application."""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    """Build the Planning Poker application."""
    app = FastAPI(title="Planning Poker")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
