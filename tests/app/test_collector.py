"""The collector set-up: start-up objects frozen, thresholds set, pauses on /metrics."""

from __future__ import annotations

import asyncio
import gc

from planning_poker import collector
from prometheus_client import REGISTRY


def test_settle_freezes_sets_thresholds_and_times_each_collection() -> None:
    before = gc.get_threshold()
    try:
        collector.settle((10_000, 50, 1_000))
        assert gc.get_threshold() == (10_000, 50, 1_000)
        assert gc.get_freeze_count() > 0
        counted = REGISTRY.get_sample_value(
            "planning_poker_gc_pause_seconds_count", {"generation": "2"}
        )
        gc.collect()
        after = REGISTRY.get_sample_value(
            "planning_poker_gc_pause_seconds_count", {"generation": "2"}
        )
        assert after == (counted or 0.0) + 1
        cpu = REGISTRY.get_sample_value(
            "planning_poker_gc_pause_cpu_seconds_count", {"generation": "2"}
        )
        assert cpu is not None and cpu >= 1
    finally:
        gc.callbacks.remove(collector._on_collection)  # noqa: SLF001 - undo for other tests
        gc.unfreeze()
        gc.set_threshold(*before)


def _collections(generation: str) -> float:
    value = REGISTRY.get_sample_value(
        "planning_poker_gc_pause_seconds_count", {"generation": generation}
    )
    return value or 0.0


def test_the_young_and_middle_generations_are_collected_by_time_whatever_the_count() -> None:
    # Old objects freed as fast as new ones are made keep Python's allocation count still, so
    # its young collections came seconds apart over tens of thousands of objects.
    before = gc.get_threshold()
    try:
        collector.settle((1_000_000_000, 2, 1_000_000))  # never by count in this test
        young, middle = _collections("0"), _collections("1")

        async def run_for(seconds: float) -> None:
            task = asyncio.create_task(collector.collect_by_time())
            await asyncio.sleep(seconds)
            task.cancel()

        asyncio.run(run_for(10 * collector.YOUNG_SECONDS + 0.1))
        assert _collections("0") - young >= 3
        assert _collections("1") - middle >= 3
    finally:
        gc.callbacks.remove(collector._on_collection)  # noqa: SLF001 - undo for other tests
        gc.unfreeze()
        gc.set_threshold(*before)
