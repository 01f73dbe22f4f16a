"""The light parts of the WebSocket protocol: the inbox and the writable flag uvicorn waits on.

The protocol itself (frames written straight to the transport) runs in every WebSocket test
against the real server; these check the two stand-ins for asyncio's Queue and Event.
"""

from __future__ import annotations

import asyncio

from planning_poker.wsserver import Inbox, Writable


def test_the_inbox_hands_events_over_in_order_and_waits_when_empty() -> None:
    async def scenario() -> list[object]:
        inbox = Inbox()
        inbox.put_nowait("a")
        inbox.put_nowait("b")
        got = [await inbox.get(), await inbox.get()]
        assert inbox.empty()
        later = asyncio.create_task(inbox.get())
        await asyncio.sleep(0.01)
        assert not later.done(), "an empty inbox makes the reader wait"
        inbox.put_nowait("c")
        got.append(await asyncio.wait_for(later, 1))
        assert inbox.qsize() == 0
        return got

    assert asyncio.run(scenario()) == ["a", "b", "c"]


def test_a_cancelled_reader_leaves_the_inbox_usable() -> None:
    async def scenario() -> object:
        inbox = Inbox()
        reader = asyncio.create_task(inbox.get())
        await asyncio.sleep(0.01)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        inbox.put_nowait("after")
        return await asyncio.wait_for(inbox.get(), 1)

    assert asyncio.run(scenario()) == "after"


def test_sends_wait_while_writing_is_paused_and_all_go_on_when_it_resumes() -> None:
    async def scenario() -> list[bool]:
        writable = Writable()
        assert await writable.wait() is True, "a set flag does not wait"
        writable.clear()
        waiting = [asyncio.create_task(writable.wait()) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert not any(task.done() for task in waiting)
        writable.set()
        return list(await asyncio.wait_for(asyncio.gather(*waiting), 1))

    assert asyncio.run(scenario()) == [True, True, True]
