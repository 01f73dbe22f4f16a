"""The planning-poker command: serve the app, or apply the database migrations."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from planning_poker.errors import StoreError
from planning_poker.migrations_child import Migrations
from planning_poker.settings import Settings, SettingsError, load_settings

GRACEFUL_SHUTDOWN_SECONDS = 10


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--host", help="address to listen on (env HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (env PORT, default 8000)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (env DATABASE_URL)")
    parser.add_argument("--data-dir", type=Path, help="where the default SQLite file lives")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(
            host=args.host, port=args.port, database_url=args.database_url, data_dir=args.data_dir
        )
    except SettingsError as exc:
        sys.stderr.write(f"planning-poker: {exc}\n")
        raise SystemExit(2) from exc


def migrate(argv: list[str]) -> None:
    """Apply pending database migrations and exit."""
    from planning_poker.migrating import upgrade_to_head  # Alembic only in this command
    from planning_poker.store import make_engine

    settings = _settings(_parser("planning-poker migrate").parse_args(argv))
    try:
        upgrade_to_head(make_engine(settings.effective_database_url))
    except StoreError as exc:
        sys.stderr.write(f"planning-poker migrate: {exc}\n")
        raise SystemExit(1) from exc
    sys.stdout.write("database is at the latest migration\n")


def serve(argv: list[str]) -> None:
    """Start the server; SIGTERM drains connections and stops it."""
    settings = _settings(_parser("planning-poker").parse_args(argv))
    migrations = Migrations(settings.effective_database_url)  # loads while the app does
    import uvicorn

    from planning_poker.web import create_app
    from planning_poker.wsserver import RoomProtocol

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        app = create_app(settings, migrations=migrations)
    except StoreError as exc:
        sys.stderr.write(f"planning-poker: {exc}\n")
        raise SystemExit(1) from exc
    _shorten_slice(settings.scheduler_slice_seconds)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,  # one log call per request is wasted work at level warning
        loop="uvloop",  # libuv: paced p95 0.83-0.93x, p99 0.72-0.87x asyncio's (docs/app.md)
        ws=RoomProtocol,  # uvicorn's websockets-sansio, plus frames built once per broadcast
        proxy_headers=False,  # the app reads X-Forwarded-For itself, from trusted proxies only
        ws_max_size=1024 * 1024,
        ws_per_message_deflate=False,  # state snapshots are small; compressing costs more CPU
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _shorten_slice(seconds: float) -> None:
    """Give the event loop's thread (this one) a short scheduler slice (`scheduling`)."""
    from planning_poker.scheduling import SliceUnavailable, request_slice

    if not seconds:
        return
    try:
        request_slice(seconds)
    except SliceUnavailable as exc:
        logging.getLogger(__name__).info("keeping the kernel's scheduler slice: %s", exc)


def main(argv: list[str] | None = None) -> None:
    """Dispatch: `planning-poker migrate ...` or `planning-poker [--port N ...]`."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["migrate"]:
        migrate(args[1:])
    elif args[:1] == ["serve"]:
        serve(args[1:])
    else:
        serve(args)
