"""Fixtures shared by the browser tests: one app server for every room module.

Each browser module launches its own Chromium (a Playwright session left open would hold an event
loop on the main thread and break the `asyncio.run` of tests that run after it); the app server
has no such tie, and each test makes rooms of its own, so the room modules share one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.app.conftest import Server, app_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app for the room pages' browser tests (default settings)."""
    with app_server(tmp_path_factory.mktemp("browser")) as running:
        yield running
