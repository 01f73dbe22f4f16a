"""Shared helpers for tests that need a real service: fail under CI=true, skip elsewhere."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = "/usr/bin/chromium"
REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def service_missing(what: str) -> None:
    """Fail (under CI=true) or skip (elsewhere) because a needed service is missing."""
    message = f"needs {what}, which is not available on this machine"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: a missing service is a failure)")
    pytest.skip(message)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_postgres() -> str:
    """The PostgreSQL URL for tests, or fail/skip when it does not answer."""
    if not port_open("127.0.0.1", 5432):
        service_missing("PostgreSQL at 127.0.0.1:5432")
    return POSTGRES_URL


def require_redis() -> str:
    """The Redis URL for tests, or fail/skip when it does not answer."""
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis at 127.0.0.1:6379")
    return REDIS_URL


def require_binary(name: str) -> str:
    """The path of a system binary, or fail/skip when it is not installed."""
    path = CHROMIUM if name == "chromium" and os.path.exists(CHROMIUM) else shutil.which(name)
    if path is None:
        service_missing(f"the {name} binary (install it with apt-get install {name})")
    assert path is not None
    return path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    """Poll url until it answers 200, or raise with what was seen last."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not become ready in {timeout}s: {last}")


@contextmanager
def running(
    argv: list[str], ready_url: str, env: dict[str, str] | None = None, timeout: float = 30.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends; wait for ready_url first."""
    process = subprocess.Popen(
        argv,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        try:
            wait_for_http(ready_url, timeout)
        except TimeoutError as exc:
            process.kill()
            _, err = process.communicate(timeout=5)
            detail = err.decode(errors="replace")
            raise RuntimeError(f"{argv[0]} failed to start: {detail}") from exc
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr:
            process.stderr.close()
