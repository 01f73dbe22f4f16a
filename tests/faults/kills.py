"""Runs of engine kills: a kill at a seeded random moment, and the run's figures and verdict."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

from tests.faults.invariants import Violations
from tests.faults.pipeline import all_terminal
from tests.faults.servers import Served, kill


def kill_at_random(engine: Served, rng: random.Random, low: float, high: float) -> bool:
    """SIGKILL the server `low` to `high` seconds from now; whether promotions were running."""
    time.sleep(rng.uniform(low, high))
    running = not all_terminal(engine)
    kill(engine.process)
    return running


def phases(promotions: list[dict[str, Any]]) -> Counter[str]:
    """How many promotions ended in each phase."""
    return Counter(body["status"]["phase"] for body in promotions)


def resumed_steps(promotions: list[dict[str, Any]]) -> int:
    """How many promotion steps ran more than once: resumed after a kill."""
    return sum(
        1
        for body in promotions
        for step in body["status"].get("stepExecutionMetadata", [])
        if step.get("attempts", 0) > 1
    )


def assert_survived(
    promotions: list[dict[str, Any]],
    found: Violations,
    *,
    expected: int,
    kills: int,
    landed: int,
    seed: int,
    details: str = "",
) -> None:
    """Print the run's figures, then: every promotion there, a kill landed in them, no violation."""
    print(
        f"{len(promotions)} promotions, {kills} kills ({landed} while promotions ran), "
        f"{resumed_steps(promotions)} steps resumed after a kill, "
        f"phases {dict(phases(promotions))}, {details}violations: {dict(found.counts)}"
    )
    assert len(promotions) == expected
    assert landed >= 1, "no kill landed while promotions ran"
    assert found.total == 0, found.report(seed)
