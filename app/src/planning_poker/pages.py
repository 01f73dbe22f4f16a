"""The HTML pages: home, room, and a friendly 404."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from planning_poker.errors import StoreError
from planning_poker.runtime import Services

STATIC_DIR = Path(str(files("planning_poker") / "static"))
router = APIRouter()


def _page(name: str, status_code: int = 200) -> HTMLResponse:
    html = (STATIC_DIR / name).read_text(encoding="utf-8")
    return HTMLResponse(html, status_code=status_code, headers={"cache-control": "no-store"})


@router.get("/", response_class=HTMLResponse)
async def home() -> HTMLResponse:
    """The start page: create a room."""
    return _page("index.html")


@router.get("/r/{room_id}", response_class=HTMLResponse)
async def room_page(request: Request, room_id: str) -> HTMLResponse:
    """A room's page, or a friendly 404 page for an unknown room."""
    running: Services = request.app.state.services
    try:
        room = await running.hub.load(room_id)
    except StoreError:
        return _page("unavailable.html", 503)
    if room is None:
        return _page("404.html", 404)
    return _page("room.html")
