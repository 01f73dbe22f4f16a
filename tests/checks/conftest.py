"""Fixtures for the checks suites: a real Planning Poker process and a real checks service."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.checks.support import APP_COMMIT, CHECKS_TOKEN
from tests.services import REPO_ROOT, VENV_BIN, free_port, running


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real planning-poker process on a free port, reporting APP_COMMIT."""
    data = tmp_path_factory.mktemp("poker-data")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"PLANNING_POKER_COMMIT": APP_COMMIT, "PLANNING_POKER_DATA_DIR": str(data)}
    argv = [str(VENV_BIN / "planning-poker"), "--port", str(port)]
    with running(argv, f"{url}/healthz", env=env):
        yield url


@pytest.fixture(scope="session")
def checks_url(app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real poker-checks service on a free port, one load run at a time, short queue.

    It reads inside the tests' temporary folders and tests only the app_url process.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "POKER_CHECKS_LOAD_CONCURRENCY": "1",
        "POKER_CHECKS_QUEUE_TIMEOUT": "1",
        "POKER_CHECKS_TOKEN": CHECKS_TOKEN,
        "POKER_CHECKS_ROOTS": str(tmp_path_factory.getbasetemp()),
        "POKER_CHECKS_TARGETS": app_url,
    }
    argv = [str(VENV_BIN / "poker-checks"), "serve", "--port", str(port)]
    with running(argv, f"{url}/healthz", env=env):
        yield url


@pytest.fixture
def app_source(tmp_path: Path) -> Path:
    """A copy of the app's pyproject.toml, requirements.lock and src/ to alter freely."""
    target = tmp_path / "app"
    target.mkdir()
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(REPO_ROOT / "app" / name, target / name)
    shutil.copytree(
        REPO_ROOT / "app" / "src",
        target / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static"),
    )
    return target
