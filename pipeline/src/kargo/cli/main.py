"""Entry point of the kargo command."""

from __future__ import annotations

import click

from kargo import __version__


@click.group()
def cli() -> None:
    """Manage the promotion pipeline."""


@cli.command()
def version() -> None:
    """Print the client version."""
    click.echo(f"kargo {__version__}")


def main() -> None:
    """Run the CLI."""
    cli()
