"""Leader failover on PostgreSQL while 20 promotions run: no promotion lost, no step doubled.

Two servers share one PostgreSQL database and state folder (as standbys that take over
deployments do). The leader is SIGKILLed at a seeded random moment while the promotions run;
the standby must take the lease, resume what was Running and finish everything. A step that
runs again after the kill must repeat the same effect (the same freight), never another one.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest
from kargo.store import Store

from tests.faults.invariants import (
    check_all,
)
from tests.faults.pipeline import (
    API,
    PROJECT,
    SECRET_ENV,
    all_terminal,
    converge,
    queue_promotion,
    seed_store,
    webhook_secret,
)
from tests.faults.servers import kill, server
from tests.pipeline.databases import temporary_postgres_url
from tests.pipeline.harness import wait_until
from tests.pipeline.notify.receiver import receiving

STAGES = 10
PER_STAGE = 2


def leading(base: str, headers: dict[str, str]) -> bool:
    """Whether the server at `base` says it leads."""
    try:
        return bool(httpx.get(f"{base}{API}/leader", headers=headers, timeout=5).json()["leading"])
    except httpx.HTTPError:
        return False


@pytest.mark.postgres
def test_killing_the_leader_during_20_promotions_loses_none_and_doubles_no_step(
    seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    secret = webhook_secret()
    served = tmp_path / "served"
    served.mkdir()
    state = tmp_path / "state"
    env = {SECRET_ENV: secret}
    with temporary_postgres_url("failover") as url, receiving(secret) as receiver:
        store = Store.open(url, state)
        try:
            freights = seed_store(store, STAGES, PER_STAGE, served, receiver.url)
        finally:
            store.close()
        with server(state, url, env) as leader, server(state, url, env) as standby:
            wait_until(lambda: leading(leader.base, leader.headers), what="the first to lead")
            store = Store.open(url, state)
            try:
                for n in range(PER_STAGE):
                    for stage in range(STAGES):
                        queue_promotion(store, f"s{stage}", freights[n])
            finally:
                store.close()
            time.sleep(rng.uniform(0.3, 1.5))
            landed = not all_terminal(standby)
            kill(leader.process)
            wait_until(lambda: leading(standby.base, standby.headers), timeout=30, what="takeover")
            promoted = STAGES * PER_STAGE
            converge(standby, receiver, promoted)
        promotions, found = check_all(url, state, PROJECT, served, receiver)
    print(f"{len(promotions)} promotions, leader killed while they ran: {landed}, "
          f"violations: {dict(found.counts)}")  # fmt: skip
    assert len(promotions) == promoted
    assert found.total == 0, found.report(seed)
