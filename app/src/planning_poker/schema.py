"""Whether the database's schema is at the code's head revisions, in plain SQL (no Alembic)."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from planning_poker.errors import StoreError


def current_revisions(engine: Engine) -> frozenset[str]:
    """The revisions the database is at (none before the first migration)."""
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return frozenset()
            rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            return frozenset(str(row[0]) for row in rows)
    except SQLAlchemyError as exc:
        raise StoreError(f"database unreachable: {type(exc).__name__}") from exc


def schema_current(engine: Engine, heads: frozenset[str]) -> bool:
    """Whether the database is at the given head revisions."""
    return current_revisions(engine) == heads
