"""Received messages handled at once: in order, a waiting one finished by a task, reading paused
while a backlog piles up. The server's side of it runs in every WebSocket test."""

from __future__ import annotations

import asyncio

from planning_poker.inbound import BACKLOG, Reader
from planning_poker.wsserver import Inbox


class Source:
    """The server's side as the reader sees it: how often it was asked to read again."""

    def __init__(self) -> None:
        self.resumed = 0

    def take_messages(self, take: object) -> None:
        """Not used by the reader itself."""

    def resume_reading(self) -> None:
        """Count a resume."""
        self.resumed += 1


def test_a_message_that_needs_no_wait_is_handled_inside_take() -> None:
    handled: list[str] = []

    async def handle(text: str) -> None:
        handled.append(text)

    async def scenario() -> None:
        reader = Reader(handle, Source(), failed=lambda exc: None)
        assert reader.take("vote") is True
        assert handled == ["vote"], "handled in the step that took it, before the loop turned"

    asyncio.run(scenario())


def test_messages_behind_a_waiting_one_keep_their_order_and_pause_reading() -> None:
    handled: list[str] = []
    gate = asyncio.Event()

    async def handle(text: str) -> None:
        if text == "first":
            await gate.wait()
        handled.append(text)

    async def scenario() -> tuple[list[bool], int]:
        source = Source()
        reader = Reader(handle, source, failed=lambda exc: None)
        answers = [reader.take("first")] + [reader.take(f"m{n}") for n in range(BACKLOG)]
        await asyncio.sleep(0.01)
        assert handled == [], "the first waits, and the rest wait behind it"
        gate.set()
        await reader.finish()
        return answers, source.resumed

    answers, resumed = asyncio.run(scenario())
    assert handled == ["first"] + [f"m{n}" for n in range(BACKLOG)]
    assert answers[:-1] == [True] * BACKLOG, "reading goes on until the backlog is full"
    assert answers[-1] is False
    assert resumed == 1, "reading resumes once the reader has caught up"


def test_a_handling_that_fails_is_reported_and_drops_what_queued_behind_it() -> None:
    failures: list[Exception] = []
    handled: list[str] = []

    async def handle(text: str) -> None:
        await asyncio.sleep(0)
        if text == "bad":
            raise ValueError("a bug")
        handled.append(text)

    async def scenario() -> None:
        reader = Reader(handle, Source(), failed=failures.append)
        reader.take("bad")
        reader.take("after")
        await reader.finish()
        reader.take("later")  # a new message after the failure is handled again
        await reader.finish()

    asyncio.run(scenario())
    assert [str(exc) for exc in failures] == ["a bug"]
    assert handled == ["later"]


def test_the_inbox_gives_up_its_received_messages_and_keeps_the_rest() -> None:
    inbox = Inbox()
    first = {"type": "websocket.receive", "text": "a"}
    gone = {"type": "websocket.disconnect", "code": 1000}
    second = {"type": "websocket.receive", "bytes": b"b"}
    for event in (first, gone, second):
        inbox.put_nowait(event)
    assert inbox.take_received() == [first, second]
    assert inbox.qsize() == 1
