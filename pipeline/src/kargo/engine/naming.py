"""Names the engine makes: promotions sortable by creation, verification runs."""

from __future__ import annotations

import secrets
import threading
import time

_lock = threading.Lock()
_last_ms = 0


def _monotonic_millis() -> int:
    global _last_ms
    with _lock:
        _last_ms = max(_last_ms + 1, int(time.time() * 1000))
        return _last_ms


def promotion_name(stage: str, freight: str) -> str:
    """`<stage>.<time-ordered id>.<freight prefix>`, as Kargo names promotions; sorts FIFO."""
    ident = f"{_monotonic_millis():012x}{secrets.token_hex(2)}"
    return f"{stage}.{ident}.{freight[:7]}"[:253]


def analysis_run_name(stage: str, freight: str) -> str:
    """A unique AnalysisRun name for one verification of freight in a stage."""
    return f"{stage}.{_monotonic_millis():012x}.{freight[:7]}"[:253]
