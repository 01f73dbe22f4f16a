"""The garbage collector: start-up objects frozen, thresholds set, every pause measured.

Objects made while starting (modules, the app, the engine) never become garbage; freezing
them keeps each full collection from walking them again. The thresholds are the measured
choice in docs/app.md; each collection's duration goes to a histogram on /metrics.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram

PAUSES = Histogram(
    "planning_poker_gc_pause_seconds",
    "Garbage-collector pauses, by generation.",
    ["generation"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
_started: list[float] = [0.0]


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        PAUSES.labels(str(info["generation"])).observe(time.perf_counter() - _started[0])


def settle(thresholds: tuple[int, int, int]) -> None:
    """Collect, freeze what start-up made, set the thresholds, and time every pause from now."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)
