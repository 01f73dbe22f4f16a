"""Test databases: a SQLite file in a temporary folder, or a PostgreSQL database of our own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.services import require_postgres


@contextmanager
def temporary_postgres_url(area: str) -> Iterator[str]:
    """Create `test_<area>_<random>` on the shared server, yield its URL, drop it afterwards."""
    base = sa.make_url(require_postgres())
    name = f"test_{area}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def database_url(backend: str, tmp_path: Path, area: str) -> Iterator[str | None]:
    """None (SQLite under the state folder) or a fresh PostgreSQL database URL."""
    if backend == "sqlite":
        yield None
    else:
        with temporary_postgres_url(area) as url:
            yield url
