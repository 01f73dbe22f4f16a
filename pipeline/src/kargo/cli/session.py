"""What every command shares: the root options, the connection, the project, client and console.

Server and token come, as the issue asks, from a flag (`--server`, `--token`), then the environment
(`KARGO_SERVER`, `KARGO_TOKEN`), then the config file (`kargo.auth.credentials`: one entry per
server, like kubeconfig contexts, so two servers never share a token or a default project), then
the local default. The guide writes `kargo get promotion planning-poker`, where the positional
names the project, and `kargo get stage development`, where it names a resource: the CLI tells
them apart by asking the server for its projects.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from kargo.api.contract import FreightView
from kargo.auth.credentials import ConfigFile, load_config
from kargo.cli.kinds import Kind, did_you_mean, resolve_kind
from kargo.cli.tables import DURATION
from kargo.client import DEFAULT_SERVER, ApiError, KargoClient, KargoClientError

F = TypeVar("F", bound=Callable[..., Any])
FILE = click.Path(path_type=Path, dir_okay=False)
FOLDER = click.Path(path_type=Path, file_okay=False)
T = TypeVar("T")


class ProjectError(click.UsageError):
    """No project can be chosen (exit 2); the message says what to pass."""


@dataclass(frozen=True)
class Connection:
    """The server, token and default project a command uses."""

    server: str
    token: str | None
    project: str | None


@dataclass(frozen=True)
class Target:
    """The project to act on and the resource name left over (None: all / the newest)."""

    project: str
    name: str | None


def server_url(text: str, scheme: str = "http") -> str:
    """A server address as a URL without a trailing slash (a bare `host:port` gets scheme)."""
    url = text.rstrip("/")
    return url if "://" in url else f"{scheme}://{url}"


def resolve_connection(
    flag_server: str | None, flag_token: str | None, config: ConfigFile
) -> Connection:
    """Apply the precedence flag > environment > config file > default."""
    server = server_url(
        flag_server or os.environ.get("KARGO_SERVER") or config.current_server or DEFAULT_SERVER
    )
    entry = config.entry(server)
    token = flag_token or os.environ.get("KARGO_TOKEN") or (entry.token if entry else None)
    return Connection(server, token, entry.project if entry else None)


def choose_default(projects: Sequence[str], configured: str | None) -> str:
    """The configured project when it exists, else the only project there is."""
    if configured:
        if configured in projects or not projects:
            return configured
        raise ProjectError(
            f"the configured project {configured!r} does not exist on this server"
            f"{did_you_mean(configured, list(projects))} "
            f"run `kargo config set-project NAME` (projects: {', '.join(projects)})"
        )
    if len(projects) == 1:
        return projects[0]
    if not projects:
        raise ProjectError(
            "the server has no projects yet; run `kargo apply -f kargo/` "
            "(or start the server with `kargo server --config kargo/`)"
        )
    raise ProjectError(
        f"there are {len(projects)} projects ({', '.join(sorted(projects))}); pass "
        "--project NAME or run `kargo config set-project NAME`"
    )


def resolve_target(
    positional: str | None,
    explicit: str | None,
    configured: str | None,
    list_projects: Callable[[], Sequence[str]],
) -> Target:
    """Split (positional, --project, configured default) into a project and a resource name.

    The server is asked for its projects only when the answer depends on them.
    """
    if positional is None:
        if explicit:
            return Target(explicit, None)
        return Target(choose_default(list_projects(), configured), None)
    if explicit and explicit != positional:
        return Target(explicit, positional)
    projects = list_projects()
    if positional in projects:
        return Target(positional, None)
    if explicit:
        return Target(explicit, positional)
    return Target(choose_default(projects, configured), positional)


@dataclass
class Session:
    """Root options and the objects built from them, once per invocation."""

    verbosity: int = 0
    server_flag: str | None = None
    token_flag: str | None = None
    project_flag: str | None = None
    no_color: bool = False
    certificate_authority: str | None = None
    insecure_skip_tls_verify: bool = False

    @cached_property
    def console(self) -> Console:
        """The terminal console; without colour for --no-color or NO_COLOR (rich reads it)."""
        return Console(no_color=self.no_color or None)

    @cached_property
    def config(self) -> ConfigFile:
        """The config file, read once."""
        return load_config()

    @property
    def connection(self) -> Connection:
        """Server, token and default project after precedence."""
        return resolve_connection(self.server_flag, self.token_flag, self.config)

    def connect(self, server: str, token: str | None) -> KargoClient:
        """A client for a server, with the root options' verbosity and TLS trust."""
        return KargoClient(
            server,
            token,
            self.verbosity,
            certificate_authority=self.certificate_authority,
            insecure_skip_tls_verify=self.insecure_skip_tls_verify,
        )

    @cached_property
    def client(self) -> KargoClient:
        """The API client, made on first use and closed when the command ends."""
        client = self.connect(self.connection.server, self.connection.token)
        click.get_current_context().call_on_close(client.close)
        return client

    @property
    def colour(self) -> bool:
        """Colour only on a terminal that takes it, never with --no-color or NO_COLOR set."""
        if self.no_color or os.environ.get("NO_COLOR"):
            return False
        return self.console.is_terminal and self.console.color_system is not None

    @cached_property
    def project_names(self) -> list[str]:
        """The server's project names, asked once."""
        return [p.name for p in self.client.list_projects()]

    def target(self, positional: str | None, project: str | None) -> Target:
        """The project and resource name for a command's positional argument."""
        chosen = project or self.project_flag
        return resolve_target(
            positional, chosen, self.connection.project, lambda: self.project_names
        )

    def project(self, project: str | None, positional: str | None = None, command: str = "") -> str:
        """The project a command acts on; a positional that names no project is a usage error."""
        target = self.target(positional, project)
        if target.name:
            names = self.project_names
            raise click.UsageError(
                f"{target.name!r} is not a project{did_you_mean(target.name, names)}; "
                f"type `kargo {command} PROJECT …` with one of: {', '.join(names)}"
            )
        return target.project

    def get_named(self, project: str, kind: Kind, name: str) -> Any:
        """One resource by name, alias or unique prefix of either (as `get` prints them)."""
        try:
            return self.client.get_resource(project, kind.plural, name)
        except ApiError as exc:
            if not exc.not_found:
                raise
            missing = exc
        candidates = self.client.list_resources(project, kind.plural)
        matches = [r for r in candidates if any(n.startswith(name) for n in _names_of(r))]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(sorted(_names_of(m)[0] for m in matches)[:5])
            raise KargoClientError(
                f"{name!r} matches several {kind.plural} ({shown}); give more of the name"
            )
        raise self.not_found(project, kind, name) from missing

    @contextmanager
    def naming(self, project: str, kind: str, name: str, about: str = "") -> Iterator[None]:
        """The server's 404 (whose message mentions `about`) as `not_found` for name."""
        try:
            yield
        except ApiError as exc:
            if exc.not_found and about in exc.message.lower():
                raise self.not_found(project, resolve_kind(kind), name) from exc
            raise

    def not_found(self, project: str, kind: Kind, name: str) -> KargoClientError:
        """The error for a missing resource, with a "did you mean" from the existing names."""
        resources = best_effort(lambda: self.client.list_resources(project, kind.plural))
        hint = did_you_mean(name, [n for r in resources for n in _names_of(r)])
        return KargoClientError(
            f"{kind.singular} {name!r} not found in project {project}{hint} "
            f"(list them with `kargo get {kind.plural} -p {project}`)"
        )

    def not_found_project(self, name: str) -> KargoClientError:
        """The error for a missing project."""
        hint = did_you_mean(name, self.project_names)
        return KargoClientError(
            f"project {name!r} not found{hint} (list them with `kargo get projects`)"
        )


def _names_of(resource: Any) -> list[str]:
    """The names a user may type for a resource: its name and, for freight, its alias."""
    alias = resource.alias if isinstance(resource, FreightView) else ""
    return [resource.metadata.name, *([alias] if alias else [])]


def best_effort(call: Callable[[], list[T]]) -> list[T]:
    """The list call() asks the server for, or none when it cannot give it (optional extras)."""
    try:
        return call()
    except KargoClientError:
        return []


def session() -> Session:
    """The current invocation's session."""
    return click.get_current_context().ensure_object(Session)


def project_option(func: F) -> F:
    """`--project/-p` on a subcommand (it may also come before the subcommand)."""
    return click.option(
        "-p", "--project", "project", default=None, help="The project (default: configured/only)."
    )(func)


def timeout_option(default: str, text: str = "How long --wait waits.") -> Callable[[F], F]:
    """`--timeout` in the one duration grammar (90s, 5m, 1h30m)."""
    return click.option("--timeout", type=DURATION, default=default, show_default=True, help=text)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--v",
    "-v",
    "verbosity",
    type=click.IntRange(0, 10),
    default=0,
    help="Log level (klog style): 4 shows each API request and response with timing.",
)
@click.option("--server", "server_flag", help="API server URL (else KARGO_SERVER, config file).")
@click.option("--token", "token_flag", help="Bearer token (else KARGO_TOKEN, config file).")
@click.option(
    "-p",
    "--project",
    "project_flag",
    help="Project (else `kargo config set-project`, or the only one).",
)
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
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Manage the promotion pipeline."""
    ctx.obj = Session(**options)
    configure_logging(ctx.obj.verbosity)


class _StderrHandler(logging.Handler):
    """Writes records to whatever stderr is now (click's test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def configure_logging(verbosity: int) -> None:
    """Send the client's request log to stderr at klog verbosity 4 and above."""
    logger = logging.getLogger("kargo.client")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(
            logging.Formatter("I%(asctime)s.%(msecs)03d %(name)s] %(message)s", "%m%d %H:%M:%S")
        )
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO if verbosity >= 4 else logging.WARNING)
