"""The WebSocket send side: at once while writable, queued behind a send that waits.

The ASGI `send` here is a stand-in with uvicorn's behaviour (it waits while the transport is
paused); the real server's path is covered by the WebSocket tests.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from planning_poker.frames import Text, text_frame
from planning_poker.outbox import CLOSE_TOO_SLOW, SEND_QUEUE_LIMIT, Outbox
from websockets.frames import Frame, Opcode


class PausableSend:
    """An ASGI send that completes at once unless writing is paused."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: list[Any] = []

    async def __call__(self, message: Any) -> None:
        await self.writable.wait()
        self.sent.append(message.get("text", message.get("code")))


def test_messages_go_out_at_once_in_order_and_queue_while_paused() -> None:
    async def scenario() -> list[Any]:
        send = PausableSend()
        outbox = Outbox(send)
        outbox.deliver("a")
        assert send.sent == ["a"], "a writable socket is written in the same step"
        send.writable.clear()
        outbox.deliver("b")
        outbox.deliver("c")
        outbox.close(4403)
        outbox.deliver("after close")
        await asyncio.sleep(0.01)
        assert send.sent == ["a"]
        send.writable.set()
        await asyncio.sleep(0.01)
        return send.sent

    assert asyncio.run(scenario()) == ["a", "b", "c", 4403]


def test_a_client_too_far_behind_is_closed_with_1013() -> None:
    async def scenario() -> list[Any]:
        send = PausableSend()
        outbox = Outbox(send)
        send.writable.clear()
        for number in range(SEND_QUEUE_LIMIT + 2):
            outbox.deliver(str(number))
        send.writable.set()
        await asyncio.sleep(0.01)
        return send.sent

    sent = asyncio.run(scenario())
    assert sent == ["0", CLOSE_TOO_SLOW]


def test_drain_cancels_a_send_that_never_completes() -> None:
    async def scenario() -> bool:
        send = PausableSend()
        outbox = Outbox(send)
        send.writable.clear()
        outbox.deliver("stuck")
        await outbox.drain(timeout=0.01)
        return outbox.closed

    assert asyncio.run(scenario()) is True


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_frame_built_once_is_the_frame_websockets_would_send(size: int) -> None:
    text = "é" * (size // 2) + "x" * (size % 2)
    assert text_frame(text) == Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Transport:
    """A frame writer that accepts frames until told it is paused."""

    def __init__(self) -> None:
        self.accepting = True
        self.frames: list[bytes] = []

    def write_frame(self, frame: bytes) -> bool:
        if self.accepting:
            self.frames.append(frame)
        return self.accepting


def test_frames_go_straight_to_the_transport_and_fall_back_to_send_in_order() -> None:
    async def scenario() -> tuple[list[bytes], list[Any]]:
        send, transport = PausableSend(), Transport()
        outbox = Outbox(send, transport)
        shared = Text("shared")
        outbox.deliver(shared)
        outbox.deliver("own")
        assert transport.frames == [shared.frame, text_frame("own")]
        assert send.sent == [], "a writable transport takes the frames without the ASGI send"
        transport.accepting, send.writable = False, asyncio.Event()
        outbox.deliver(shared)  # refused by the transport: the ASGI send waits for it
        transport.accepting = True
        outbox.deliver("queued behind the waiting send, not written first")
        assert len(transport.frames) == 2
        send.writable.set()
        await asyncio.sleep(0.01)
        return transport.frames, send.sent

    frames, sent = asyncio.run(scenario())
    assert len(frames) == 2
    assert sent == ["shared", "queued behind the waiting send, not written first"]
