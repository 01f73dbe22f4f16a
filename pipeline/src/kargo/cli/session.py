"""What every command shares: connection, lazily made client, project and console."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from rich.console import Console

from kargo.api.contract import FreightView
from kargo.cli.kinds import Kind, did_you_mean
from kargo.cli.projects import ProjectError, Target, resolve_target
from kargo.cli.settings import ConfigFile, Connection, load_config, resolve_connection
from kargo.client import ApiError, KargoClient, KargoClientError

F = TypeVar("F", bound=Callable[..., Any])


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
    _config: ConfigFile | None = None
    _client: KargoClient | None = None
    _projects: list[str] | None = None
    _console: Console | None = None

    @property
    def console(self) -> Console:
        """The terminal console; without colour for --no-color or NO_COLOR (rich reads it)."""
        if self._console is None:
            self._console = Console(no_color=self.no_color or None)
        return self._console

    @property
    def config(self) -> ConfigFile:
        """The config file, read once."""
        if self._config is None:
            self._config = load_config()
        return self._config

    @property
    def connection(self) -> Connection:
        """Server, token and default project after precedence."""
        return resolve_connection(self.server_flag, self.token_flag, self.config)

    @property
    def client(self) -> KargoClient:
        """The API client, made on first use and closed when the command ends."""
        if self._client is None:
            connection = self.connection
            self._client = KargoClient(
                connection.server,
                connection.token,
                self.verbosity,
                certificate_authority=self.certificate_authority,
                insecure_skip_tls_verify=self.insecure_skip_tls_verify,
            )
            click.get_current_context().call_on_close(self._client.close)
        return self._client

    @property
    def colour(self) -> bool:
        """Colour only on a terminal that takes it, never with --no-color or NO_COLOR set."""
        if self.no_color or os.environ.get("NO_COLOR"):
            return False
        return self.console.is_terminal and self.console.color_system is not None

    def project_names(self) -> list[str]:
        """The server's project names, asked once."""
        if self._projects is None:
            self._projects = [p.name for p in self.client.list_projects()]
        return self._projects

    def target(self, positional: str | None, project: str | None) -> Target:
        """The project and resource name for a command's positional argument."""
        try:
            return resolve_target(
                positional,
                project or self.project_flag,
                self.connection.project,
                self.project_names,
            )
        except ProjectError as exc:
            raise click.UsageError(str(exc)) from exc

    def project(self, project: str | None) -> str:
        """The project a command without a positional project acts on."""
        return self.target(None, project).project

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

    def not_found(self, project: str, kind: Kind, name: str) -> KargoClientError:
        """The error for a missing resource, with a "did you mean" from the existing names."""
        try:
            resources = self.client.list_resources(project, kind.plural)
            existing = [n for r in resources for n in _names_of(r)]
        except KargoClientError:
            existing = []
        hint = did_you_mean(name, existing)
        return KargoClientError(
            f"{kind.singular} {name!r} not found in project {project}{hint} "
            f"(list them with `kargo get {kind.plural} -p {project}`)"
        )

    def not_found_project(self, name: str) -> KargoClientError:
        """The error for a missing project."""
        hint = did_you_mean(name, self.project_names())
        return KargoClientError(
            f"project {name!r} not found{hint} (list them with `kargo get projects`)"
        )


def _names_of(resource: Any) -> list[str]:
    """The names a user may type for a resource: its name and, for freight, its alias."""
    alias = resource.alias if isinstance(resource, FreightView) else ""
    return [resource.metadata.name, *([alias] if alias else [])]


def session() -> Session:
    """The current invocation's session."""
    return click.get_current_context().ensure_object(Session)


def project_option(func: F) -> F:
    """`--project/-p` on a subcommand (it may also come before the subcommand)."""
    return click.option(
        "-p", "--project", "project", default=None, help="The project (default: configured/only)."
    )(func)


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
