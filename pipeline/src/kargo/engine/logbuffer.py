"""Promotion log lines on their way to the store: every running promotion's in one transaction.

A line waits at most FLUSH_SECONDS, or goes with its promotion's next save. One buffer serves
the whole engine: 20 promotions logging at once took 100 write transactions a second, each
holding SQLite's one writer (and the GIL) against the API's writes; shared, it is 5.
"""

from __future__ import annotations

import asyncio
import logging

from kargo.engine.writing import transact
from kargo.store import Store, StoreError, Transaction

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
PromotionKey = tuple[str, str]  # project, promotion


class LogBuffer:
    """Lines per promotion, written together within FLUSH_SECONDS (on the engine's loop)."""

    def __init__(self, store: Store, every: float = FLUSH_SECONDS) -> None:
        self.store = store
        self.every = every
        self._lines: dict[PromotionKey, list[str]] = {}
        self._handle: asyncio.TimerHandle | None = None

    def add(self, project: str, promotion: str, line: str) -> None:
        """Buffer a line; a flush is due within `every` seconds."""
        self._lines.setdefault((project, promotion), []).append(line)
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(self.every, self.flush)

    def take(self, project: str, promotion: str) -> list[str]:
        """One promotion's waiting lines, for the caller to write in its own transaction."""
        return self._lines.pop((project, promotion), [])

    def flush(self) -> None:
        """Write every waiting line in one transaction (a database error drops them, logged)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        waiting, self._lines = self._lines, {}
        if not waiting:
            return

        def work(tx: Transaction) -> None:
            for (project, promotion), lines in waiting.items():
                for line in lines:
                    tx.log(project, promotion, line)

        try:
            transact(self.store, work)
        except StoreError:
            count = sum(len(lines) for lines in waiting.values())
            log.warning("could not write %d log lines of %d promotions", count, len(waiting))
