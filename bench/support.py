"""What the benchmarks share: ports, polling, git, and a PostgreSQL database of their own."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(what: str, check: Callable[[], Any], timeout: float = 90.0, every: float = 0.02) -> Any:
    """Poll check() until it is truthy; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(what)


def answers(url: str, timeout: float = 0.5) -> bool:
    """Whether url answers 200 now."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def git(repo: Path, *args: str) -> str:
    """Run git in the benchmark's repository."""
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_IDENTITY},
                          capture_output=True, text=True)  # fmt: skip
    done.check_returncode()
    return done.stdout.strip()


def postgres_answers() -> bool:
    """Whether something listens on the local PostgreSQL port."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def postgres_database(area: str) -> Iterator[str]:
    """A fresh database on the local server for the block; dropped afterwards."""
    base = sa.make_url(POSTGRES_URL)
    name = f"bench_{area}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
