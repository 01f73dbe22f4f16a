"""Entry point of the kargo command: the commands (each `cmd_*` module adds its own) and exit codes.

Exit codes: 0 success, 1 error, 2 usage error. Every error is one line on stderr.
"""

from __future__ import annotations

import re
import sys

import click

from kargo.auth.credentials import ConfigFileError
from kargo.cli import cmd_access, cmd_admin, cmd_get, cmd_ops, cmd_promote, cmd_wait  # noqa: F401
from kargo.cli.session import cli
from kargo.client import KargoClientError

__all__ = ["cli", "main", "run"]


def _usage_line(exc: click.UsageError) -> str:
    """A usage error as one line that says what to type instead."""
    message = " ".join(exc.format_message().split())
    path = exc.ctx.command_path if exc.ctx else "kargo"
    return f"error: {message} (see `{path} --help`)"


def kubectl_forms(argv: list[str]) -> list[str]:
    """`-o=json`, `-p=NAME` (kubectl's short-option forms) as click reads them: `-ojson`."""
    short = re.compile(r"^-[A-Za-z]=")
    return [f"{arg[:2]}{arg[3:]}" if short.match(arg) else arg for arg in argv]


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on argv and return the exit code, printing errors as one line."""
    args = kubectl_forms(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="kargo", standalone_mode=False)
    except click.UsageError as exc:
        click.echo(_usage_line(exc), err=True)
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("error: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        return exc.exit_code
    except (KargoClientError, ConfigFileError) as exc:
        click.echo(f"error: {' '.join(str(exc).split())}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return result if isinstance(result, int) else 0


def main() -> None:
    """Run the CLI (console script `kargo`)."""
    sys.exit(run())
