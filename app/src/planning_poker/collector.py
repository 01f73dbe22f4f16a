"""The garbage collector: start-up objects frozen, young collections by time, pauses measured.

Objects made while starting (modules, the app, the engine) never become garbage; freezing
them keeps each full collection from walking them again.

Python starts a young collection when allocations outnumber deallocations by the first
threshold, but a deallocation counts whatever generation the object was in. A server in a
steady state frees old objects (a keepalive timer of 20 s, a reader's future waiting seconds
for the next message) as fast as it makes new ones, so the count stands still while the
young list grows: at 8,000 sockets it held 30,000-45,000 objects after 5 s and each young
collection took 20-50 ms of CPU. So the young generation is also collected every
`YOUNG_SECONDS`, and the middle one every `MIDDLE_EVERY` of those (what survives the young
collection lives seconds, not forever: the middle list stays as short). The thresholds are
the measured choice in docs/app.md. With them a full collection practically never comes by
count, and cyclic garbage that reached the oldest generation (a closed connection's objects)
stayed: 7 MiB more for every 1,000 connections that came and went. So a full collection
runs when the heap's allocated blocks (`sys.getallocatedblocks()`, a walk over pools, not
objects) have grown by `FULL_GROWTH` since the last one, CPython's own rule for its oldest
generation. Each collection's duration goes to a histogram on /metrics, as wall-clock time
and as the CPU time of the collecting thread (the difference is time the process waited for
a core).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from typing import Any

from prometheus_client import Histogram

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
PAUSES = Histogram(
    "planning_poker_gc_pause_seconds",
    "Garbage-collector pauses (wall-clock), by generation.",
    ["generation"],
    buckets=_BUCKETS,
)
PAUSES_CPU = Histogram(
    "planning_poker_gc_pause_cpu_seconds",
    "CPU time of garbage-collector pauses, by generation.",
    ["generation"],
    buckets=_BUCKETS,
)
YOUNG_SECONDS = 0.1
MIDDLE_EVERY = 2
FULL_GROWTH = 1.25
FULL_CHECK_EVERY = 10  # young turns; counting the blocks takes 0.02-0.6 ms (0.7-7 million)
_started: list[float] = [0.0, 0.0]
_full_at: list[int] = [0]  # allocated blocks after the last full collection


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0], _started[1] = time.perf_counter(), time.thread_time()
    else:
        generation = str(info["generation"])
        PAUSES.labels(generation).observe(time.perf_counter() - _started[0])
        PAUSES_CPU.labels(generation).observe(time.thread_time() - _started[1])
        if generation == "2":
            _full_at[0] = sys.getallocatedblocks()


def settle(thresholds: tuple[int, int, int]) -> None:
    """Collect, freeze what start-up made, set the thresholds, and time every pause from now."""
    gc.collect()
    gc.freeze()
    _full_at[0] = sys.getallocatedblocks()
    gc.set_threshold(*thresholds)
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


async def collect_by_time() -> None:
    """Collect the young generation every `YOUNG_SECONDS` and the middle one with every
    `MIDDLE_EVERY`-th, however the allocation count stands, or all three once the heap grew by
    `FULL_GROWTH` since the last full collection (runs until cancelled)."""
    turn = 0
    while True:
        await asyncio.sleep(YOUNG_SECONDS)
        turn += 1
        if turn % MIDDLE_EVERY:
            gc.collect(0)
        elif turn % FULL_CHECK_EVERY == 0 and sys.getallocatedblocks() > FULL_GROWTH * _full_at[0]:
            gc.collect(2)
        else:
            gc.collect(1)
