"""Fixtures for the notify tests: a SQLite store of our own, secrets, a loopback receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kargo.store import Store

from tests.pipeline.notify.receiver import Receiver, receiving
from tests.pipeline.notify.samples import write_secret


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store (for tests whose behaviour does not depend on the backend)."""
    opened = Store.open(None, tmp_path / "state")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[str, Path]:
    """(secret, file holding it)."""
    return write_secret(tmp_path)


@pytest.fixture
def receiver(secret_file: tuple[str, Path]) -> Iterator[Receiver]:
    """A receiver that verifies with its own copy of the secret."""
    with receiving(secret_file[0]) as running:
        yield running
