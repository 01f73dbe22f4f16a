"""Fixtures for the local runtime's tests: state folders whose processes are always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kargo.runtime import stop_all

from tests.services import free_port, require_binary


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state folder whose instances and router are stopped after the test."""
    folder = tmp_path / "state"
    folder.mkdir()
    try:
        yield folder
    finally:
        stop_all(folder, timeout=5)


@pytest.fixture
def haproxy() -> str:
    """The haproxy binary (the test fails under CI, skips elsewhere, without it)."""
    return require_binary("haproxy")


@pytest.fixture
def stage_port() -> int:
    """A free port for a stage's stable address."""
    return free_port()
