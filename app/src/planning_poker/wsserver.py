"""uvicorn's sans-I/O WebSocket protocol with a direct path for frames built once, and lighter.

A broadcast sends the same delta to most of a room: its WebSocket frame is built once and
written straight to each receiver's transport, instead of every receiver's ASGI `send`
encoding and framing the text again. The protocol offers that path to the app as the ASGI
scope extension `frames.FRAMES_EXTENSION`; it refuses (and the app uses `send`) whenever the
direct write would not be what `send` does: writing paused, a close under way, compression.

It also offers the message path (`inbound.MESSAGES_EXTENSION`): once the app takes it, each
message is handed to the app's reader as soon as it is parsed, not queued for a task to wake
on a later turn of the loop. Reading is paused only when messages pile up (`inbound.BACKLOG`
unread), not after every message: no pair of selector calls per message. Each connection also
holds less: a list and one waiter instead of an `asyncio.Queue` (four deques), a flag instead
of an `asyncio.Event`, and the handshake's request and response are let go once it is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol as FrameProtocol
from websockets.protocol import State
from websockets.streams import StreamReader

from planning_poker import client_frames
from planning_poker.frames import FRAMES_EXTENSION
from planning_poker.inbound import BACKLOG, MESSAGES_EXTENSION, text_of

# websockets' parser waits between frames in these two generators, one inside the other.
_READING_FRAMES = FrameProtocol.parse.__code__
_WAITING_FOR_DATA = StreamReader.at_eof.__code__
_OPEN = State.OPEN


class Inbox:
    """Received ASGI events for the one reader an ASGI app has (what uvicorn uses of a Queue)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        """Add an event and wake the reader."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        """The oldest event, waiting for one if there is none."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def take_received(self) -> list[Any]:
        """Remove the received messages waiting, in order, and leave the other events."""
        received = [item for item in self._items if item["type"] == "websocket.receive"]
        self._items = [item for item in self._items if item["type"] != "websocket.receive"]
        return received

    def empty(self) -> bool:
        """Whether no event is waiting."""
        return not self._items

    def qsize(self) -> int:
        """How many events are waiting."""
        return len(self._items)


class Writable:
    """Whether the transport takes writes (what uvicorn uses of an Event), waiters made lazily."""

    __slots__ = ("on", "_waiters")

    def __init__(self) -> None:
        self.on = True  # read directly on the frame path: no method call per write
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        """Whether writing may go on."""
        return self.on

    def set(self) -> None:
        """Writing may go on: wake every waiting send."""
        self.on = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Writing is paused."""
        self.on = False

    async def wait(self) -> bool:
        """Return once writing may go on."""
        if self.on:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class RoomProtocol(WebSocketsSansIOProtocol):
    """One WebSocket connection, able to write a ready-made frame at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        # One object under two names: uvicorn's `writable` is typed as an asyncio.Event,
        # `_writable` as what it is, so that write_frame may read its flag directly.
        self._writable = self.writable = Writable()  # type: ignore[assignment]
        self._take: Callable[[str], bool] | None = None

    def handle_connect(self, event: Any) -> None:
        """Accept as uvicorn does and offer the direct frame and message paths to the app."""
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][FRAMES_EXTENSION] = self
            scope["extensions"][MESSAGES_EXTENSION] = self

    def take_messages(self, take: Callable[[str], bool]) -> None:
        """Hand every message from now on to `take` as it is parsed, those queued first."""
        self._take = take
        inbox = self.queue
        assert isinstance(inbox, Inbox)
        go_on = True
        for event in inbox.take_received():
            go_on = take(text_of(event))
        self._follow(go_on)

    def data_received(self, data: bytes) -> None:
        """Hand whole text frames straight to the app's reader while websockets' parser waits
        between frames (`client_frames`); anything else goes through websockets."""
        take = self._take
        if take is not None and not self.close_sent and self._between_frames():
            messages = client_frames.texts(data)
            if messages is not None:
                for text in messages:
                    if not take(text):
                        self._follow(False)
                return
        super().data_received(data)

    def _between_frames(self) -> bool:
        """Whether websockets' parser has read every byte it was given and waits for a frame."""
        conn = self.conn
        if (
            conn.state is not _OPEN
            or conn.current_size is not None
            or conn.reader.buffer
            or conn.extensions
            or self.frames
        ):
            return False
        # After the handshake the server's parser runs the frame parser, which waits for data
        # between frames; getattr: any other generator (or version) reads as "not between".
        frames = getattr(conn.parser, "gi_yieldfrom", None)
        waiting = getattr(frames, "gi_yieldfrom", None)
        return (
            getattr(frames, "gi_code", None) is _READING_FRAMES
            and getattr(waiting, "gi_code", None) is _WAITING_FOR_DATA
        )

    def resume_reading(self) -> None:
        """Read the socket again."""
        self._follow(True)

    def _follow(self, go_on: bool) -> None:
        """Pause or resume reading as the app's reader asks."""
        if go_on and self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        elif not go_on and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    async def send(self, message: Any) -> None:
        """uvicorn's ASGI send; once the handshake is answered its objects are let go."""
        await super().send(message)
        if self.handshake_complete and getattr(self, "request", None) is not None:
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]

    def write_frame(self, frame: bytes) -> bool:
        """Write a frame now if `send` would write it without waiting; else False."""
        transport = self.transport
        if (
            self.close_sent
            or self.disconnected
            or not self.handshake_complete
            or not self._writable.on
            or self.conn.state is not _OPEN
            or self.conn.extensions
            or transport.is_closing()
        ):
            return False
        transport.write(frame)
        return True

    def send_receive_event_to_app(self) -> None:
        """Hand a message to the app's reader; else queue it, and pause reading only once
        several wait unread."""
        take = self._take
        if take is not None and not self.close_sent:
            data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
            self.frames = []
            if self.curr_msg_data_type == "text":
                try:
                    text = data.decode()
                except UnicodeDecodeError:  # as uvicorn answers it
                    self.logger.exception("Invalid UTF-8 sequence received from client.")
                    self.conn.send_close(1007)
                    self.handle_parser_exception()
                    return
            else:
                text = data.decode("utf-8", errors="replace")
            if not take(text):
                self._follow(False)
            return
        before = self.read_paused
        self.read_paused = True  # uvicorn pauses after every message unless already paused
        super().send_receive_event_to_app()
        self.read_paused = before
        if not before and self.queue.qsize() >= BACKLOG:
            self.read_paused = True
            self.transport.pause_reading()
