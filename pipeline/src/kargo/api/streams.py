"""Long-lived answers (watch streams, `logs --follow`) are bounded per token.

Each token may hold `$KARGO_MAX_STREAMS_PER_TOKEN` (default 8) open streams; one more is a 429
saying so. A slot is given back when its stream ends, or when the stream is dropped unstarted.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import Counter
from collections.abc import AsyncIterator

from kargo.api.codes import ErrorCode
from kargo.api.errors import ApiError

LIMIT_ENV = "KARGO_MAX_STREAMS_PER_TOKEN"
DEFAULT_LIMIT = 8


class StreamSlots:
    """Open streams per subject."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def limit(self) -> int:
        """The configured number of streams a token may hold."""
        raw = os.environ.get(LIMIT_ENV, "")
        return max(1, int(raw)) if raw.isdigit() else DEFAULT_LIMIT

    def bounded(self, subject: str, stream: AsyncIterator[str]) -> AsyncIterator[str]:
        """The stream, holding one of the subject's slots until it ends; 429 when none is free."""
        limit = self.limit()
        with self._lock:
            if self._open[subject] >= limit:
                raise ApiError(
                    ErrorCode.TOO_MANY,
                    f"{subject} already holds {limit} open streams (watch, logs --follow); "
                    f"close one, or raise ${LIMIT_ENV}",
                )
            self._open[subject] += 1
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                with self._lock:
                    self._open[subject] -= 1
                    if self._open[subject] <= 0:
                        del self._open[subject]

        async def held() -> AsyncIterator[str]:
            try:
                async for chunk in stream:
                    yield chunk
            finally:
                release()

        wrapped = held()
        weakref.finalize(wrapped, release)  # a stream dropped before it started
        return wrapped

    def held_by(self, subject: str) -> int:
        """How many streams the subject holds now."""
        with self._lock:
            return self._open[subject]


STREAMS = StreamSlots()
