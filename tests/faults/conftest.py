"""Fault tests: seeded, lean in `make test`; `make chaos` runs more rounds (FAULT_ROUNDS)."""

from __future__ import annotations

import os
import random
from collections.abc import Generator

import pytest


def chaos() -> bool:
    """Whether this is a `make chaos` run (FAULT_ROUNDS set): it also runs the `chaos` tests."""
    return "FAULT_ROUNDS" in os.environ


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the `chaos` tests to `make chaos`: `make test` runs the lean subset."""
    if chaos():
        return
    later = [item for item in items if item.get_closest_marker("chaos") is not None]
    if later:
        config.hook.pytest_deselected(items=later)
        items[:] = [item for item in items if item.get_closest_marker("chaos") is None]


def rounds(default: int) -> int:
    """How many rounds of a fault to run: FAULT_ROUNDS when set (make chaos), else `default`."""
    return int(os.environ.get("FAULT_ROUNDS", default))


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The test's random seed: FAULT_SEED to replay one, else a fresh one (printed, and in -ra)."""
    value = int(os.environ.get("FAULT_SEED", random.SystemRandom().randrange(1, 2**31)))
    print(f"\n{request.node.nodeid}: FAULT_SEED={value}")
    request.node.user_properties.append(("FAULT_SEED", value))
    return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed fault test's report names its seed, whatever failed."""
    report: pytest.TestReport = yield
    seed = dict(item.user_properties).get("FAULT_SEED")
    if seed is not None and report.failed:
        report.sections.append(("fault seed", f"replay with FAULT_SEED={seed}"))
    return report
