"""The planning-poker command: serve the app."""

from __future__ import annotations

import argparse

import uvicorn

from planning_poker.web import create_app


def main(argv: list[str] | None = None) -> None:
    """Start the server."""
    parser = argparse.ArgumentParser(prog="planning-poker")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
