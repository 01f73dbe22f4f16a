"""Entry point of the kargo command: root options, the command table, and exit codes.

Exit codes: 0 success, 1 error, 2 usage error. Every error is one line on stderr.
"""

from __future__ import annotations

import re
import sys

import click

from kargo.cli.cmd_access import (
    audit_group,
    create_group,
    delete_group,
    login_command,
    logout_command,
)
from kargo.cli.cmd_admin import (
    completion_command,
    config_group,
    server_command,
    version_command,
)
from kargo.cli.cmd_explain import explain_group
from kargo.cli.cmd_get import describe_command, get_command
from kargo.cli.cmd_ops import (
    apply_command,
    export_command,
    logs_command,
    redeliver_command,
    test_group,
)
from kargo.cli.cmd_promote import (
    approve_command,
    promote_command,
    refresh_group,
    rollback_command,
    verify_group,
)
from kargo.cli.cmd_wait import wait_command
from kargo.cli.session import Session, configure_logging
from kargo.cli.settings import ConfigFileError
from kargo.client import KargoClientError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.option(
    "--v",
    "-v",
    "verbosity",
    type=click.IntRange(0, 10),
    default=0,
    help="Log level (klog style): 4 shows each API request and response with timing.",
)
@click.option("--server", envvar=None, help="API server URL (else KARGO_SERVER, config file).")
@click.option("--token", envvar=None, help="Bearer token (else KARGO_TOKEN, config file).")
@click.option("-p", "--project", help="Project (else `kargo config set-project`, or the only one).")
@click.option("--no-color", is_flag=True, help="No colour in the output (as NO_COLOR=1 does).")
@click.option(
    "--certificate-authority",
    type=click.Path(exists=True, dir_okay=False),
    envvar="KARGO_CERTIFICATE_AUTHORITY",
    help="PEM file of the CA that signed an https server's certificate.",
)
@click.option(
    "--insecure-skip-tls-verify", is_flag=True, help="Do not check an https server's certificate."
)
@click.pass_context
def cli(
    ctx: click.Context,
    verbosity: int,
    server: str | None,
    token: str | None,
    project: str | None,
    no_color: bool,
    certificate_authority: str | None,
    insecure_skip_tls_verify: bool,
) -> None:
    """Manage the promotion pipeline."""
    ctx.obj = Session(
        verbosity, server, token, project, no_color, certificate_authority, insecure_skip_tls_verify
    )
    configure_logging(verbosity)


for command in (
    get_command,
    describe_command,
    promote_command,
    rollback_command,
    approve_command,
    verify_group,
    refresh_group,
    logs_command,
    export_command,
    apply_command,
    test_group,
    redeliver_command,
    version_command,
    config_group,
    completion_command,
    server_command,
    create_group,
    delete_group,
    login_command,
    logout_command,
    audit_group,
    explain_group,
    wait_command,
):
    cli.add_command(command)


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
