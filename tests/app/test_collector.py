"""The collector set-up: start-up objects frozen, thresholds set, pauses on /metrics."""

from __future__ import annotations

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
    finally:
        gc.callbacks.remove(collector._on_collection)  # noqa: SLF001 - undo for other tests
        gc.unfreeze()
        gc.set_threshold(*before)
