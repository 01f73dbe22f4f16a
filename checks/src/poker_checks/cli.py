"""The poker-checks command."""

from __future__ import annotations

import click
import uvicorn

from poker_checks.server import create_app


@click.group()
def cli() -> None:
    """Verification suites for Planning Poker."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the suites over HTTP."""
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


def main() -> None:
    """Run the CLI."""
    cli()
