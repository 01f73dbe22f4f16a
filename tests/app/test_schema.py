"""Migrations in a child process: the schema is applied, the heads known, Alembic never loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from planning_poker.errors import StoreError
from planning_poker.migrating import head_revisions
from planning_poker.migrations_child import Migrations
from planning_poker.schema import current_revisions, schema_current
from planning_poker.store import make_engine

SERVER_SIDE = """
import sys
from planning_poker.migrations_child import Migrations
from planning_poker.schema import schema_current
from planning_poker.store import make_engine
from planning_poker.web import create_app

url = sys.argv[1]
create_app()
engine = make_engine(url)
heads = Migrations(url).heads(engine)
print(sorted(heads), schema_current(engine, heads))
print(sorted(name for name in sys.modules if name.split(".")[0] == "alembic"))
"""


def test_the_child_migrates_and_the_server_process_never_loads_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/child.db"
    done = subprocess.run(
        [sys.executable, "-c", SERVER_SIDE, url],
        capture_output=True,
        text=True,
        check=True,
        env={"PLANNING_POKER_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    expected = sorted(head_revisions(make_engine(url)))
    assert done.stdout.splitlines() == [f"{expected} True", "[]"]


def test_heads_only_reports_without_migrating(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/untouched.db"
    engine = make_engine(url)
    heads = Migrations(url, apply=False).heads(engine)
    assert heads == head_revisions(engine)
    assert current_revisions(engine) == frozenset()
    assert not schema_current(engine, heads)


def test_an_in_memory_database_is_migrated_on_the_apps_own_engine() -> None:
    engine = make_engine("sqlite://")
    heads = Migrations("sqlite://").heads(engine)
    assert schema_current(engine, heads)


def test_a_failing_migration_names_the_childs_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/x.db"
    with pytest.raises(StoreError, match="cannot migrate the database"):
        Migrations(url).heads(make_engine(f"sqlite:///{tmp_path}/other.db"))
