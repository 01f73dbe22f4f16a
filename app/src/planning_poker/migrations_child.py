"""The migrations, applied by a short child process so that the server never loads Alembic.

Alembic and what it imports cost a server about 11 MiB that it would hold for its whole life
only to run the migrations once at start. The child (`python -m planning_poker.migrating`)
applies them, or only reads them, and reports the head revisions; readiness then compares the
database's `alembic_version` with those heads (`schema.py`). The command starts the child
before it imports the app, so that both load at once on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from planning_poker.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

URL_VARIABLE = "PLANNING_POKER_MIGRATE_URL"  # the URL goes by environment, never on argv
HEADS_ONLY = "--heads-only"
CHILD_SECONDS = 600.0


class Migrations:
    """The migration child, started at once; `heads` waits for its outcome."""

    def __init__(self, url: str, apply: bool = True) -> None:
        self.apply = apply
        self._child: subprocess.Popen[str] | None = None
        if not _private(url):
            argv = [sys.executable, "-m", "planning_poker.migrating"]
            try:
                self._child = subprocess.Popen(
                    [*argv, *([] if apply else [HEADS_ONLY])],
                    env={**os.environ, URL_VARIABLE: url},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            except OSError as exc:
                raise StoreError(f"cannot run the migrations: {exc}") from exc

    def heads(self, engine: Engine) -> frozenset[str]:
        """Wait for the child; the code's head revisions, or StoreError with its last line.

        A database only this process can reach (in-memory SQLite) is migrated here, on the
        app's engine.
        """
        if self._child is None:
            from planning_poker import migrating

            if self.apply:
                migrating.upgrade_to_head(engine)
            return frozenset(migrating.head_revisions(engine))
        try:
            out, err = self._child.communicate(timeout=CHILD_SECONDS)
        except subprocess.TimeoutExpired as exc:
            self._child.kill()
            self._child.communicate()
            raise StoreError(f"the migrations took longer than {CHILD_SECONDS:g} s") from exc
        if self._child.returncode != 0:
            lines = err.strip().splitlines() or [f"exit status {self._child.returncode}"]
            raise StoreError(lines[-1])
        return frozenset(json.loads(out)["heads"])


def _private(url: str) -> bool:
    """An in-memory SQLite URL, a database that no other process can open."""
    return url.startswith("sqlite") and (url.rstrip("/") == "sqlite:" or ":memory:" in url)
