"""The engine's one log buffer: every promotion's lines in one transaction per flush."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from kargo.engine.logbuffer import LogBuffer
from kargo.store import Store


def lines(store: Store, promotion: str) -> list[str]:
    """A promotion's stored log lines."""
    return [line for _, line in store.logs("shop", promotion)]


def test_lines_of_many_promotions_are_written_together_in_order(store: Store) -> None:
    commits: list[object] = []
    sa.event.listen(store.engine, "commit", lambda connection: commits.append(connection))

    async def logging() -> None:
        buffer = LogBuffer(store, every=0.05)
        for n in range(5):
            for promotion in ("a", "b", "c"):
                buffer.add("shop", promotion, f"{promotion} line {n}")
        assert lines(store, "a") == []  # waiting for the flush
        await asyncio.sleep(0.3)

    asyncio.run(logging())
    for promotion in ("a", "b", "c"):
        assert lines(store, promotion) == [f"{promotion} line {n}" for n in range(5)]
    assert len(commits) == 1  # before: one transaction per promotion and flush


def test_a_promotion_takes_its_own_lines_for_its_save_and_the_rest_stay(store: Store) -> None:
    async def logging() -> list[str]:
        buffer = LogBuffer(store, every=0.05)
        buffer.add("shop", "a", "a1")
        buffer.add("shop", "b", "b1")
        taken = buffer.take("shop", "a")
        buffer.flush()
        return taken

    assert asyncio.run(logging()) == ["a1"]
    assert lines(store, "a") == [] and lines(store, "b") == ["b1"]
