"""Received messages handled at once: each in the step of the event loop that read it.

With the server's message path (`wsserver.RoomProtocol`, offered as the ASGI scope extension
`MESSAGES_EXTENSION`) a message does not wait in a queue for the connection's reader task to
wake on a later turn of the loop: the server hands it to `Reader.take` as soon as it is
parsed, and its handling runs right there, to the end when nothing makes it wait (a vote on
SQLite is applied, committed and broadcast in that one step). A handling that has to wait (a
room lock another change holds, Redis, PostgreSQL) is finished by a task, and the connection's
later messages queue behind it in order; with `BACKLOG` queued the server stops reading the
socket until the reader has caught up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from planning_poker.eager import Resume

MESSAGES_EXTENSION = "planning_poker.messages"  # the ASGI scope extension: a MessageSource
BACKLOG = 8

Handler = Callable[[str], Coroutine[Any, Any, None]]


def text_of(message: Any) -> str:
    """A received ASGI message's text (bytes read as UTF-8, undecodable bytes replaced)."""
    text = message.get("text")
    if text is None:
        return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")
    return str(text)


class MessageSource(Protocol):
    """The server's message path: received messages handed over as they are parsed."""

    def take_messages(self, take: Callable[[str], bool]) -> None:
        """Hand every message from now on (and those already queued) to `take`, which answers
        whether to go on reading."""
        ...

    def resume_reading(self) -> None:
        """Read the socket again (the reader caught up)."""
        ...


class Reader:
    """One connection's messages, handled in the order they came, each at once when it can."""

    __slots__ = ("_handle", "_source", "_failed", "_backlog", "_task")

    def __init__(
        self, handle: Handler, source: MessageSource, failed: Callable[[Exception], None]
    ) -> None:
        self._handle = handle
        self._source = source
        self._failed = failed
        self._backlog: deque[str] | None = None  # made when a handling first has to wait
        self._task: asyncio.Task[None] | None = None

    def take(self, text: str) -> bool:
        """Handle a message now, or after the one in progress; False: stop reading for now."""
        if self._task is not None:
            backlog = self._backlog
            assert backlog is not None
            backlog.append(text)
            return len(backlog) < BACKLOG
        coroutine = self._handle(text)
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return True
        except Exception as exc:  # a bug in handling: the connection is failed, not the server
            self._failed(exc)
            return True
        if self._backlog is None:
            self._backlog = deque()
        self._task = asyncio.get_running_loop().create_task(self._finish(coroutine, waiting))
        return True

    async def _finish(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        backlog = self._backlog
        assert backlog is not None
        try:
            await Resume(coroutine, waiting)
            while backlog:
                await self._handle(backlog.popleft())
        except Exception as exc:
            backlog.clear()
            self._failed(exc)
        finally:
            self._task = None
        self._source.resume_reading()

    async def finish(self) -> None:
        """Wait until the messages taken so far are handled."""
        task = self._task
        if task is not None:
            with contextlib.suppress(Exception):
                await task
