"""Commands about the CLI itself: version, config, completion, and starting a server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
from click.shell_completion import get_completion_class

from kargo import __version__
from kargo.auth.credentials import save_config
from kargo.cli.printing import to_yaml
from kargo.cli.session import FILE, FOLDER, cli, server_url, session
from kargo.client import ApiError, KargoClientError


@cli.command("version")
@click.option("--client", "client_only", is_flag=True, help="Only the client's version.")
def version_command(client_only: bool) -> None:
    """Print the client version, and the server's when it is reachable.

    \b
    Examples:
      kargo version
      kargo version --client
    """
    click.echo(f"kargo {__version__}")
    if client_only:
        return
    s = session()
    try:
        server = s.client.version()
    except ApiError as exc:
        click.echo(f"server: {s.connection.server} answered {exc.status}: {exc.message}")
        return
    except KargoClientError as exc:
        click.echo(f"server: not reachable at {s.connection.server} ({_short(exc)})")
        return
    click.echo(f"server: {server.version} (api {server.api_version}) at {s.connection.server}")


def _short(exc: Exception) -> str:
    return str(exc).split(";")[0].split("(")[-1].rstrip(")") or type(exc).__name__


@cli.group("config")
def config_group() -> None:
    """Read and change the CLI config file (one entry per server)."""


@config_group.command("set-project")
@click.argument("name")
def set_project_command(name: str) -> None:
    """Make NAME the default project for the current server.

    \b
    Examples:
      kargo config set-project planning-poker
    """
    s = session()
    server = s.connection.server
    s.config.ensure(server).project = name
    save_config(s.config)
    click.echo(f"default project for {server} is now {name}")


@config_group.command("set-server")
@click.argument("url")
@click.option("--token", help="The bearer token for this server.")
@click.option("--project", help="The default project on this server.")
def set_server_command(url: str, token: str | None, project: str | None) -> None:
    """Use the server at URL from now on (and remember its token and project).

    \b
    Examples:
      kargo config set-server http://127.0.0.1:8080 --token "$(cat .kargo/admin.token)"
    """
    s = session()
    url = server_url(url)
    entry = s.config.ensure(url)
    if token:
        entry.token = token
    if project:
        entry.project = project
    s.config.current_server = url
    save_config(s.config)
    click.echo(f"current server is now {url}")


@config_group.command("delete-server")
@click.argument("url")
def delete_server_command(url: str) -> None:
    """Forget the server at URL: its entry (token, project) leaves the config file.

    \b
    Examples:
      kargo config delete-server https://old-kargo.example.com
    """
    s = session()
    entry = s.config.entry(url)
    if entry is None:
        known = ", ".join(e.server for e in s.config.servers) or "none"
        raise KargoClientError(f"{s.config.path} has no entry for {url} (entries: {known})")
    s.config.servers.remove(entry)
    if s.config.current_server and s.config.current_server.rstrip("/") == entry.server:
        s.config.current_server = None
    save_config(s.config)
    click.echo(f"deleted {entry.server} from {s.config.path}")


@config_group.command("view")
def view_command() -> None:
    """Print the config file, tokens redacted.

    \b
    Examples:
      kargo config view
    """
    s = session()
    shown = s.config.to_dict()
    for entry in (e for e in shown.get("servers", []) if e.get("token")):
        entry["token"] = "<redacted>"
    click.echo(f"# {s.config.path}")
    click.echo(to_yaml(shown).rstrip("\n"))


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the shell completion script: eval "$(kargo completion bash)".

    \b
    Examples:
      eval "$(kargo completion bash)"
    """
    root = click.get_current_context().find_root().command
    completion_class = get_completion_class(shell)
    if completion_class is None:
        raise click.UsageError(f"no completion for {shell}; use bash, zsh or fish")
    completion = completion_class(root, {}, "kargo", "_KARGO_COMPLETE")
    click.echo(completion.source())


@cli.command("server")
@click.option(
    "--config",
    "config_dir",
    type=FOLDER,
    help="Pipeline configuration folder to apply at start (e.g. kargo/).",
)
@click.option(
    "--state-dir",
    type=FOLDER,
    default=Path(".kargo"),
    show_default=True,
    help="Where the embedded database and runtime data live.",
)
@click.option(
    "--database-url",
    envvar="KARGO_DATABASE_URL",
    help="PostgreSQL URL instead of the embedded SQLite (or KARGO_DATABASE_URL).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--rbac", type=FILE, help="Access policy.")
@click.option("--tls-cert", type=FILE, help="PEM cert.")
@click.option("--tls-key", type=FILE, help="PEM key.")
@click.option(
    "--insecure-bind-all",
    is_flag=True,
    help="Allow a non-loopback --host without TLS (tokens travel in clear).",
)
@click.option(
    "--save-token",
    is_flag=True,
    help="On the first start, also save the admin token in the CLI config file.",
)
def server_command(tls_cert: Path | None, tls_key: Path | None, **options: Any) -> None:
    """Run the engine and its API server (loopback only unless TLS or --insecure-bind-all).

    \b
    Examples:
      kargo server --config kargo/ --state-dir .kargo
      kargo server --config kargo/ --tls-cert cert.pem --tls-key key.pem --host 0.0.0.0
    """
    # The one place the CLI reaches below the client: the server runs in this process.
    from kargo.api.binding import Tls
    from kargo.api.server import ServerError, serve

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("give both --tls-cert and --tls-key")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if session().verbosity >= 4:  # `kargo --v=4 server`: our debug lines, not SQLAlchemy's
        logging.getLogger("kargo").setLevel(logging.DEBUG)
    tls = Tls(tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None
    try:
        serve(tls=tls, **options)
    except ServerError as exc:
        raise click.ClickException(f"kargo server: {exc}") from exc
    except KeyboardInterrupt:
        return
