"""The three console scripts start and answer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.services import VENV_BIN, free_port, running


def test_kargo_version_prints_the_client_version() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "kargo"), "version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("kargo 0.1.0")


def test_planning_poker_serves_healthz_on_the_given_port(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    argv = [str(VENV_BIN / "planning-poker"), "--port", str(port), "--data-dir", str(tmp_path)]
    with running(argv, url):
        assert httpx.get(url).json()["status"] == "ok"


def test_poker_checks_serve_answers_healthz() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    argv = [str(VENV_BIN / "poker-checks"), "serve", "--port", str(port)]
    with running(argv, url, env={"POKER_CHECKS_TOKEN": "skeleton-test-token"}):
        assert httpx.get(url).json()["status"] == "ok"
