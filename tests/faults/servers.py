"""`kargo server` processes that start in milliseconds, to be killed many times per test.

Each server is `python -m kargo.api`'s `main()` in a process of its own, forked by
multiprocessing's fork server, which imported kargo once: a restart then costs no imports (2-6 s
on a busy machine), and the fork server holds none of the test's sockets or threads, so a
killed server leaves the test's receivers alone.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from tests.pipeline.harness import admin_headers
from tests.services import free_port, wait_for_http

_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload(["kargo.api.__main__", "kargo.runtime", "kargo.notify.dispatcher"])


def _serve(argv: list[str], env: dict[str, str], log: str) -> None:
    """The server's process: output to its log, the test's environment, then `main()`."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.update(env)
    from kargo.api.__main__ import main

    raise SystemExit(main(argv))


@dataclass
class Served:
    """A running server: where it answers, its process, and its admin token header."""

    base: str
    process: BaseProcess
    headers: dict[str, str]


@contextmanager
def server(
    state_dir: Path, database_url: str | None = None, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """A server on a free loopback port for the block; its base URL and process."""
    port = free_port()
    argv = ["--state-dir", str(state_dir), "--port", str(port)]
    if database_url is not None:
        argv += ["--database-url", database_url]
    state_dir.mkdir(parents=True, exist_ok=True)
    environment = {"KARGO_CONFIG": str(state_dir / "cli-config.yaml"), **(env or {})}
    log = str(state_dir / "server.log")
    process = _FORKS.Process(target=_serve, args=(argv, environment, log), daemon=False)
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{base}/healthz", timeout=30)
        except TimeoutError as exc:
            kill(process)
            raise RuntimeError(
                f"the server did not start:\n{Path(log).read_text()[-3000:]}"
            ) from exc
        yield Served(base, process, admin_headers(state_dir))
    finally:
        if process.is_alive():
            process.terminate()
            process.join(15)
        if process.is_alive():
            kill(process)


def kill(process: BaseProcess) -> None:
    """SIGKILL the server (its shell steps run in their own sessions and end on their own)."""
    if process.pid is not None and process.is_alive():
        os.kill(process.pid, signal.SIGKILL)
    process.join(10)
