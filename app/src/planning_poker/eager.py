"""Coroutines started at once: their first step runs in the caller's, a task finishes the rest.

A send that completes without waiting, or a message handled without waiting, then costs no
task and no turn of the event loop; only one that has to wait is handed to a task, which picks
it up where it stopped.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


class Resume:
    """Await a coroutine that has already run up to its first suspension."""

    __slots__ = ("coroutine", "waiting")

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        self.coroutine = coroutine
        self.waiting = waiting

    def __await__(self) -> Generator[Any, Any, None]:
        waiting = self.waiting
        while True:
            try:
                value = yield waiting
            except BaseException as exc:  # cancelled: pass it into the coroutine
                try:
                    waiting = self.coroutine.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                waiting = self.coroutine.send(value)
            except StopIteration:
                return
