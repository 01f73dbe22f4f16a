"""The WebSocket send side: at once while writable, queued behind a send that waits.

The ASGI `send` here is a stand-in with uvicorn's behaviour (it waits while the transport is
paused); the real server's path is covered by the WebSocket tests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from planning_poker.outbox import CLOSE_TOO_SLOW, SEND_QUEUE_LIMIT, Outbox


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
