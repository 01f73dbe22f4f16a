"""Alembic migrations, configured in code so that no alembic.ini is needed at runtime."""

from __future__ import annotations

import json
import os
import sys

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from planning_poker.errors import StoreError

SCRIPT_LOCATION = "planning_poker:migrations"
MIGRATION_LOCK = 0x706F6B6572  # "poker": one key for every planning-poker database


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that runs on the given engine."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration; instances starting together on PostgreSQL take turns."""
    config = alembic_config(engine)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK}
                    )
                    connection.commit()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the database: {type(exc).__name__}: {exc}") from exc


def head_revisions(engine: Engine) -> set[str]:
    """The revisions the code expects."""
    return set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database is at."""
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        raise StoreError(f"database unreachable: {type(exc).__name__}") from exc


def migrations_current(engine: Engine) -> bool:
    """Whether the database schema is at the code's head revision."""
    return current_revisions(engine) == head_revisions(engine)


def child_main(argv: list[str]) -> int:
    """The migration child of `schema.migrate_in_child`: migrate (or not), print the heads."""
    from planning_poker.migrations_child import HEADS_ONLY, URL_VARIABLE
    from planning_poker.store import make_engine

    url = os.environ.get(URL_VARIABLE)
    if not url:
        sys.stderr.write(f"planning_poker.migrating: {URL_VARIABLE} is not set\n")
        return 2
    engine = make_engine(url)
    try:
        if HEADS_ONLY not in argv:
            upgrade_to_head(engine)
        heads = sorted(head_revisions(engine))
    except StoreError as exc:
        sys.stderr.write(str(exc).splitlines()[0] + "\n")  # one line: the parent reports the last
        return 1
    finally:
        engine.dispose()
    sys.stdout.write(json.dumps({"heads": heads}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1:]))
