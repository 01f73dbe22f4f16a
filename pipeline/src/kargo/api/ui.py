"""The dashboard: static HTML, CSS and ES modules under `/ui/`, which call the API with a token.

The files hold no data, so they are served without a token (like `/healthz`); every call the
page makes carries the bearer token the user signs in with. A strict Content-Security-Policy
allows only this server's own scripts, styles and API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from kargo.api.codes import ErrorCode
from kargo.api.errors import ApiError
from kargo.api.vocabulary import vocabulary_module

router = APIRouter(include_in_schema=False)
FILES = Path(__file__).with_name("dashboard")
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/")
@router.get("/ui")
def to_dashboard() -> Response:
    """The server's root leads to the dashboard."""
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/")
def dashboard() -> Response:
    """The dashboard's page."""
    return _file("index.html")


@router.get("/ui/{file}")
def asset(file: str) -> Response:
    """One of the dashboard's scripts or styles."""
    return _file(file)


def _file(name: str) -> Response:
    if name == "vocabulary.js":
        return Response(vocabulary_module(), media_type=TYPES[".js"], headers=HEADERS)
    path = FILES / name
    if "/" in name or name.startswith(".") or path.suffix not in TYPES or not path.is_file():
        raise ApiError(ErrorCode.NOT_FOUND, f"the dashboard has no file {name!r}")
    return FileResponse(path, media_type=TYPES[path.suffix], headers=HEADERS)
