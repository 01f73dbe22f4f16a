"""Test harness: a real engine on a background thread, a temporary git repo, a loopback server."""

from __future__ import annotations

import asyncio
import http.server
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from kargo.engine.controller import Engine
from kargo.model.stage import Stage
from kargo.store import Store, get_model

from tests.pipeline.forking import ForkedServer
from tests.services import free_port, wait_for_http


@contextmanager
def running_engine(store: Store, state_dir: Path) -> Iterator[Engine]:
    """Run the engine's reconcilers in a thread with its own event loop until the block ends."""
    loop = asyncio.new_event_loop()
    engine = Engine(store, state_dir, resync_seconds=0.2)
    thread = threading.Thread(target=loop.run_until_complete, args=(engine.run(),), daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        asyncio.run_coroutine_threadsafe(engine.stop(), loop).result(timeout=10)
        thread.join(timeout=10)
        # Callbacks scheduled as the engine stopped (subprocess pipes closing) still run.
        loop.run_until_complete(asyncio.sleep(0.05))
        loop.close()


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until `check()` is truthy; fail with `what` after the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def promotions_of(
    store: Store, project: str, freight: str, phase: str, stage: str | None = None
) -> list[dict[str, Any]]:
    """The stored promotions of `freight` (to `stage`, when given) that reached `phase`."""
    return [
        p
        for p in store.list("Promotion", project)
        if p["spec"]["freight"] == freight
        and p["status"].get("phase") == phase
        and stage in (None, p["spec"]["stage"])
    ]


def running_freight(store: Store, stage: str, project: str = "shop") -> str | None:
    """The name of the freight `stage` currently runs (None before its first promotion)."""
    found = get_model(store, Stage, project, stage)
    head = found.status.current_freight if found else None
    return head.name if head else None


def rollbacks_of(store: Store, project: str, freight: str) -> list[dict[str, Any]]:
    """The succeeded rollback promotions that brought `freight` back."""
    return [
        p
        for p in promotions_of(store, project, freight, "Succeeded")
        if "kargo.akuity.io/rollback" in p["metadata"]["annotations"]
    ]


def git(repo: Path, *args: str) -> str:
    """Run git in a repository and return its output."""
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(path: Path) -> Path:
    """A git repository with one commit on main."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.test")
    git(path, "config", "user.name", "Dev")
    commit(path, "app/main.py", "print('v1')\n", "first version")
    return path


def commit(repo: Path, file: str, text: str, message: str) -> str:
    """Write a file, commit it, return the commit id."""
    target = repo / file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git(repo, "add", file)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        status = 500 if self.path.startswith("/broken") else 200
        healthy = self.path.startswith("/ok")
        body = b'{"ok": %s}' % (b"true" if healthy else b"false")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def http_server() -> Iterator[str]:
    """Loopback HTTP: `/ok` → 200 {"ok": true}, `/bad` → 200 {"ok": false}, `/broken` → 500."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def admin_token(state_dir: Path) -> str:
    """The admin token a server wrote into its state folder on its first start."""
    return (state_dir / "admin.token").read_text().strip()


def admin_headers(state_dir: Path) -> dict[str, str]:
    """An Authorization header carrying the server's admin token."""
    return {"Authorization": f"Bearer {admin_token(state_dir)}"}


_SERVED: dict[str, Path] = {}


def auth(base: str) -> dict[str, str]:
    """The admin Authorization header of the server `api_server` runs at `base`."""
    return admin_headers(_SERVED[base])


@contextmanager
def api_server(
    state_dir: Path,
    config_dir: Path | None = None,
    database_url: str | None = None,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, ForkedServer]]:
    """Run `python -m kargo.api` (forked: forking.py) on a free port; yield its URL and process."""
    port = free_port()
    argv = ["--state-dir", str(state_dir), "--port", str(port)]
    argv += extra or []
    if config_dir is not None:
        argv += ["--config", str(config_dir)]
    if database_url is not None:
        argv += ["--database-url", database_url]
    state_dir.mkdir(parents=True, exist_ok=True)
    # The server saves its first admin token in the CLI config: keep that one private to the test.
    environment = {**os.environ, "KARGO_CONFIG": str(state_dir / "cli-config.yaml"), **(env or {})}
    process = ForkedServer(argv, environment, state_dir / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{base}/healthz", timeout=90)  # the first start imports kargo
        except TimeoutError as exc:
            process.kill()
            process.wait()
            text = (state_dir / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the server did not start:\n{text}") from exc
        _SERVED[base] = state_dir
        yield base, process
    finally:
        _SERVED.pop(base, None)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def promote_and_wait_for_verification(api: str, headers: dict[str, str], stage: str) -> Any:
    """Promote the newest freight into `stage` over the API; its verification run, ended."""
    freight = wait_until(
        lambda: httpx.get(f"{api}/freight", headers=headers).json()["items"], what="freight"
    )[0]
    answer = httpx.post(
        f"{api}/promotions",
        json={"stage": stage, "freight": freight["metadata"]["name"]},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text

    def ended() -> Any:
        status = httpx.get(f"{api}/stages/{stage}", headers=headers).json()["status"]
        runs = ((status.get("freightHistory") or [{}])[0]).get("verificationHistory") or []
        return runs and runs[0].get("phase") in ("Successful", "Failed", "Error") and runs[0]

    return wait_until(ended, timeout=60, what=f"the end of {stage}'s verification")
