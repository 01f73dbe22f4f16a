"""Sending on one WebSocket without a writer task: a message goes out at once when it can.

The ASGI server's `send` completes without suspending while the socket is writable, so a
broadcast writes each receiver's frame in the same step of the event loop. Only when a send
has to wait (the client reads too slowly) does a task finish it, and later messages queue
behind it up to a limit; a client too far behind is disconnected with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
SEND_QUEUE_LIMIT = 256
CLOSE_TOO_SLOW = 1013


class _Resume:
    """Await a coroutine that has already run up to its first suspension."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        self.coroutine = coroutine
        self.waiting = waiting

    def __await__(self) -> Generator[Any, Any, None]:
        waiting = self.waiting
        while True:
            try:
                value = yield waiting
            except BaseException as exc:  # cancelled: pass it into the send
                try:
                    waiting = self.coroutine.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                waiting = self.coroutine.send(value)
            except StopIteration:
                return


class Outbox:
    """The send side of one WebSocket: text messages and, last, a close code."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._backlog: deque[str | int] = deque()
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    def deliver(self, text: str) -> None:
        """Send a text message now, or queue it behind a send that is waiting."""
        if self.closed:
            return
        if self._task is not None:
            if len(self._backlog) >= SEND_QUEUE_LIMIT:
                self._backlog.clear()
                self.close(CLOSE_TOO_SLOW)
                return
            self._backlog.append(text)
            return
        self._push({"type": "websocket.send", "text": text})

    def close(self, code: int) -> None:
        """Close the socket with a code once what is queued is sent."""
        if self.closed:
            return
        if self._task is not None:
            self._backlog.append(code)
        else:
            self._push({"type": "websocket.close", "code": code})
        self.closed = True

    def _push(self, message: Message) -> None:
        coroutine = self._send(message)
        assert isinstance(coroutine, Coroutine)
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return
        except Exception:  # the client went away; the reader sees the disconnect
            self.closed = True
            return
        self._task = asyncio.get_running_loop().create_task(self._finish(coroutine, waiting))

    async def _finish(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        try:
            await _Resume(coroutine, waiting)
            while self._backlog:
                item = self._backlog.popleft()
                if isinstance(item, int):
                    await self._send({"type": "websocket.close", "code": item})
                    return
                await self._send({"type": "websocket.send", "text": item})
        except Exception:
            self.closed = True
        finally:
            self._task = None
            self._backlog.clear()

    async def drain(self, timeout: float = 0.0) -> None:
        """Give a send in progress up to `timeout` seconds, then cancel it and send no more."""
        task = self._task
        if task is None:
            return
        if timeout > 0:
            await asyncio.wait({task}, timeout=timeout)
        task.cancel()
        self.closed = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
