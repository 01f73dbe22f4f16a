"""Fixtures for the engine's tests: a store on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kargo.store import Store

from tests.pipeline.databases import database_url

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once per database backend."""
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on the backend under test."""
    with database_url(backend, tmp_path, "engine") as url:
        opened = Store.open(url, tmp_path / "state")
        try:
            yield opened
        finally:
            opened.close()
