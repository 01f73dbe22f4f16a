"""The checks service: the suites behind HTTP endpoints."""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    """Build the checks service."""
    app = FastAPI(title="Planning Poker checks")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
