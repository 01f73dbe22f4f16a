"""Refusals are aggregated: a flood of 403s writes one audit record per caller and kind a minute.

The first refusal of a (subject, action, resource) in a window is recorded; the rest of that
window only count, and the next recorded refusal says how many were folded into it. The table
of windows is bounded, so a caller cycling through names cannot grow it without limit either.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0
MAX_KEYS = 10_000


@dataclass
class _Window:
    started: float
    folded: int = 0


class RefusalWindows:
    """Decides which refusals are written to the audit trail."""

    def __init__(
        self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self.clock = clock
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self._lock = threading.Lock()

    def admit(self, subject: str, action: str, resource: str) -> int | None:
        """None: only count this one; else record it, with how many were folded before it."""
        now = self.clock()
        key = (subject, action, resource)
        with self._lock:
            current = self._windows.get(key)
            if current is not None and now - current.started < self.window:
                current.folded += 1
                return None
            folded = current.folded if current is not None else 0
            if len(self._windows) >= MAX_KEYS:
                self._prune(now)
            self._windows[key] = _Window(started=now)
            return folded

    def _prune(self, now: float) -> None:
        stale = [k for k, w in self._windows.items() if now - w.started >= self.window]
        for key in stale or list(self._windows)[: MAX_KEYS // 10]:
            del self._windows[key]
