"""Leadership: campaign, keep, step down when another server took the lease, give it up."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from kargo.engine.leadership import Leadership
from kargo.store import Store
from kargo.store.schema import leases


def test_a_standby_waits_while_the_leader_renews_and_leads_once_it_gives_up(
    store: Store,
) -> None:
    async def scenario() -> None:
        first = Leadership(store, ttl=1.0, renew_every=0.2, retry_every=0.05)
        second = Leadership(store, ttl=1.0, renew_every=0.2, retry_every=0.05)
        stopping = asyncio.Event()
        assert await first.acquire(stopping)
        keeping = asyncio.create_task(first.keep())
        waiting = asyncio.create_task(second.acquire(stopping))
        await asyncio.sleep(1.5)  # longer than the term: renewals keep it with the first
        assert not waiting.done() and not keeping.done()
        assert second.current_holder() == first.holder
        keeping.cancel()
        await asyncio.to_thread(first.give_up)
        assert await asyncio.wait_for(waiting, timeout=2)
        assert first.current_holder() == second.holder

    asyncio.run(scenario())


def test_a_leader_whose_lease_was_taken_steps_down(store: Store) -> None:
    async def scenario() -> None:
        leader = Leadership(store, ttl=1.0, renew_every=0.2, retry_every=0.05)
        other = Leadership(store, ttl=30.0, renew_every=5.0)
        assert await leader.acquire(asyncio.Event())
        keeping = asyncio.create_task(leader.keep())
        # As if the leader had been cut off past its term: the lease lapsed and another took it.
        with store.engine.begin() as connection:
            connection.execute(sa.update(leases).values(expires_at=0.0))
        assert other.claim()
        await asyncio.wait_for(keeping, timeout=3)  # keep() returned: stepped down
        assert leader.current_holder() == other.holder

    asyncio.run(scenario())


def test_renewal_must_come_before_the_term_ends() -> None:
    with pytest.raises(ValueError, match="between 0 and ttl"):
        Leadership(None, ttl=5.0, renew_every=5.0)  # type: ignore[arg-type]
