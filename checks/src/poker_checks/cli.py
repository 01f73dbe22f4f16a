"""The poker-checks command: serve the suites, or run one and print its JSON (exit 0 if passed)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click
import uvicorn
from pydantic import BaseModel, ValidationError

from poker_checks.access import (
    DEFAULT_MAX_DURATION,
    DEFAULT_MAX_USERS,
    ROOTS_ENV,
    TARGETS_ENV,
    TARGETS_FILE_ENV,
    TOKEN_ENV,
    TOKEN_FILE_ENV,
    ServiceSettings,
    SettingsError,
    read_token_file,
)
from poker_checks.load import run_load
from poker_checks.security import run_security
from poker_checks.server import create_app
from poker_checks.smoke import run_smoke
from poker_checks.targets import LoadRequest, SecurityRequest, SmokeRequest


def _emit(report: BaseModel) -> None:
    """Print the report as JSON and exit 0 when it passed, 1 when not."""
    click.echo(report.model_dump_json(indent=2))
    raise SystemExit(0 if getattr(report, "passed", False) else 1)


def _build(
    model: type[SmokeRequest | SecurityRequest | LoadRequest], values: dict[str, Any]
) -> Any:
    """Validate the options; a bad value is a usage error (exit 2)."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise click.UsageError(str(exc).replace("\n", " ")) from exc


def _env_pairs(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.UsageError(f"--env takes KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


@click.group()
def cli() -> None:
    """Verification suites for Planning Poker."""


def _settings(options: dict[str, Any]) -> ServiceSettings:
    """The service's settings from serve's options; the environment fills in what is absent."""
    token_file = options["token_file"] or os.environ.get(TOKEN_FILE_ENV)
    try:
        if token_file:
            token = read_token_file(Path(token_file), create=options["create_token"])
        else:
            token = os.environ.get(TOKEN_ENV, "")
        if not token:
            raise SettingsError(f"no token: give --token-file FILE (or set ${TOKEN_ENV})")
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    roots = list(options["root"]) or _listed(ROOTS_ENV, os.pathsep)
    targets = list(options["target"]) or _listed(TARGETS_ENV, ",")
    targets_file = options["targets_file"] or os.environ.get(TARGETS_FILE_ENV)
    return ServiceSettings.build(
        token,
        roots,
        targets,
        targets_file=Path(targets_file) if targets_file else None,
        max_users=options["max_users"],
        max_duration_seconds=options["max_duration"],
    )


def _listed(name: str, separator: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(separator) if item.strip()]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option("--token-file", help="file with the bearer token callers must present")
@click.option("--create-token", is_flag=True, help="write a new token to --token-file if absent")
@click.option("--root", multiple=True, help="folder the security suite may read (repeat)")
@click.option("--target", multiple=True, help="URL smoke and load may test (repeat)")
@click.option("--targets-file", help="Prometheus file_sd JSON whose app instances are allowed")
@click.option("--max-users", default=DEFAULT_MAX_USERS, show_default=True, type=int)
@click.option("--max-duration", default=DEFAULT_MAX_DURATION, show_default=True, type=float)
def serve(host: str, port: int, **options: Any) -> None:
    """Serve the suites over HTTP, to callers holding the token, on the configured roots/targets."""
    settings = _settings(options)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@cli.command()
@click.option("--url", required=True, help="base URL of the app, e.g. http://127.0.0.1:8101")
@click.option("--commit", help="the commit /version must report")
@click.option("--freight", help="freight id (recorded only)")
@click.option("--timeout", "timeout_seconds", type=float, help="seconds per step")
def smoke(url: str, commit: str | None, freight: str | None, timeout_seconds: float | None) -> None:
    """Run the smoke suite against a running app."""
    request = _build(SmokeRequest, locals())
    _emit(asyncio.run(run_smoke(request)))


@cli.command()
@click.option("--source", help="app folder with pyproject.toml, requirements.lock and src/")
@click.option("--lock", help="lock file (default: <source>/requirements.lock)")
@click.option("--advisory-db", help="folder of OSV advisories (default: the bundled one)")
@click.option("--max-db-age-hours", type=float)
@click.option("--fail-on-stale-db/--no-fail-on-stale-db", default=None)
@click.option("--online", is_flag=True, default=None, help="also ask the OSV service")
@click.option("--osv-url", help="OSV service base URL (default: the public service)")
@click.option("--require-online", is_flag=True, default=None, help="unreachable OSV fails")
@click.option("--venv", help="the environment built for the freight, for licences")
@click.option("--licence-allow", multiple=True, help="allowed licence (repeat); replaces default")
@click.option("--no-bandit", is_flag=True, help="skip static analysis")
@click.option("--env", "env_pairs", multiple=True, help="production setting KEY=VALUE (repeat)")
@click.option("--env-file", help="dotenv file with the production settings")
@click.option("--config-dir", help="pipeline configuration folder to lint")
@click.option("--commit")
@click.option("--freight")
def security(**options: Any) -> None:
    """Run the security suite on an app source folder."""
    options["env"] = _env_pairs(options.pop("env_pairs"))
    options["licence_allow"] = list(options["licence_allow"]) or None
    options["bandit"] = not options.pop("no_bandit")
    _emit(run_security(_build(SecurityRequest, options)))


@cli.command()
@click.option("--url", required=True, help="base URL of the app")
@click.option("--users", type=int)
@click.option("--spawn-rate", type=float)
@click.option("--duration", "duration_seconds", type=float, help="seconds of load")
@click.option("--max-error-rate", type=float)
@click.option("--max-p95-ms", type=float)
@click.option("--commit")
@click.option("--freight")
def load(**options: Any) -> None:
    """Run a short locust load test against a running app."""
    _emit(run_load(_build(LoadRequest, options)))


def main() -> None:
    """Run the CLI."""
    cli()


if __name__ == "__main__":
    main()
