"""Sending on one WebSocket without a writer task: a message goes out at once when it can.

With the server's frame path (`wsserver.RoomProtocol`) a message's frame (`frames.Text`), built
once for all its receivers, is written straight to the transport; otherwise the ASGI `send`, which
completes without suspending while the socket is writable, so either way a broadcast writes
each receiver's frame in the same step of the event loop. Only when a send has to wait (the
client reads too slowly) does a task finish it, and later messages queue behind it up to a
limit; a client too far behind is disconnected with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

from planning_poker.eager import Resume
from planning_poker.frames import FrameWriter, Text, text_frame

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
SEND_QUEUE_LIMIT = 256
CLOSE_TOO_SLOW = 1013


class Outbox:
    """The send side of one WebSocket: text messages and, last, a close code."""

    __slots__ = ("_send", "_frames", "_backlog", "_task", "closed")

    def __init__(self, send: Send, frames: FrameWriter | None = None) -> None:
        self._send = send
        self._frames = frames
        self._backlog: deque[str | int] | None = None  # made when a send first has to wait
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    def deliver(self, message: str | Text) -> None:
        """Send a text message now, or queue it behind a send that is waiting."""
        frames = self._frames
        if frames is not None and self._task is None and not self.closed:
            frame = text_frame(message) if isinstance(message, str) else message.frame
            if frames.write_frame(frame):
                return
        self._deliver_later(message)

    def _deliver_later(self, message: str | Text) -> None:
        """Queue a message behind a waiting send, or send it through the ASGI `send`."""
        if self.closed:
            return
        text = message if isinstance(message, str) else message.text
        if self._task is not None:
            backlog = self._backlog
            assert backlog is not None
            if len(backlog) >= SEND_QUEUE_LIMIT:
                backlog.clear()
                self.close(CLOSE_TOO_SLOW)
                return
            backlog.append(text)
            return
        self._push({"type": "websocket.send", "text": text})

    def close(self, code: int) -> None:
        """Close the socket with a code once what is queued is sent."""
        if self.closed:
            return
        if self._task is not None:
            assert self._backlog is not None
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
        if self._backlog is None:
            self._backlog = deque()
        self._task = asyncio.get_running_loop().create_task(self._finish(coroutine, waiting))

    async def _finish(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        try:
            await Resume(coroutine, waiting)
            backlog = self._backlog
            while backlog:
                item = backlog.popleft()
                if isinstance(item, int):
                    await self._send({"type": "websocket.close", "code": item})
                    return
                await self._send({"type": "websocket.send", "text": item})
        except Exception:
            self.closed = True
        finally:
            self._task = None
            if self._backlog is not None:
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
