"""The collector set-up: start-up objects frozen, thresholds set, pauses on /metrics."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref

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


class _Marker:
    """An object a weak reference can watch."""


def test_cyclic_garbage_that_reached_the_oldest_generation_is_freed_while_running() -> None:
    # With no full collection by count, cycles promoted to the oldest generation before they
    # became garbage (a closed connection's objects) stayed until the process ended.
    before = gc.get_threshold()
    try:
        collector.settle((1_000_000_000, 2, 1_000_000))  # never by count in this test
        first: weakref.ref[_Marker] | None = None
        full = _collections("2")

        async def churn() -> bool:
            nonlocal first
            task = asyncio.create_task(collector.collect_by_time())
            for _ in range(12):
                marker = _Marker()
                held: list[object] = [marker]
                for _ in range(sys.getallocatedblocks() // 6):
                    cycle: list[object] = []
                    cycle.append(cycle)
                    held.append(cycle)
                held.append(held)
                await asyncio.sleep(0.5)  # promoted by the timed young and middle collections
                assert any(o is held for o in gc.get_objects(2))
                first = first or weakref.ref(marker)
                del held, cycle, marker  # now cyclic garbage in the oldest generation
                await asyncio.sleep(1.1 * collector.FULL_CHECK_EVERY * collector.YOUNG_SECONDS)
                if first() is None:
                    break
            task.cancel()
            return first is not None and first() is None

        assert asyncio.run(churn())
        assert _collections("2") > full
    finally:
        gc.callbacks.remove(collector._on_collection)  # noqa: SLF001 - undo for other tests
        gc.unfreeze()
        gc.set_threshold(*before)
