"""Alembic environment: runs on the connection (or engine) handed over in the configuration."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from planning_poker.store import metadata

config = context.config
given = config.attributes.get("connection")


def run_on(connection: Connection) -> None:
    """Run the pending migrations in one transaction on a connection."""
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


if isinstance(given, Connection):
    run_on(given)
else:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as connection:
        run_on(connection)
