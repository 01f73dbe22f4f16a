"""SIGKILL of the engine at random points across 50 promotions; after restart nothing is lost.

Ten stages of three shell steps get five promotions each, queued up front as the API queues
them. The server is killed at seeded random moments (FAULT_ROUNDS kills, default 4), restarted
each time, and finally left to converge. Then every invariant is counted: promotions stuck
non-terminal, stages naming a freight that does not serve, events and audit records lost or
duplicated, webhook deliveries lost or sent twice under different ids.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from kargo.store import Store

from tests.faults.conftest import rounds
from tests.faults.invariants import check_all
from tests.faults.kills import assert_survived, kill_at_random
from tests.faults.pipeline import (
    PROJECT,
    SECRET_ENV,
    converge,
    queue_promotion,
    seed_store,
    webhook_secret,
)
from tests.faults.servers import server
from tests.pipeline.databases import database_url
from tests.pipeline.notify.receiver import receiving

STAGES = 10
PER_STAGE = 5
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_engine_killed_at_random_points_loses_no_promotion_event_or_delivery(
    backend: str, seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    secret = webhook_secret()
    served = tmp_path / "served"
    served.mkdir()
    state = tmp_path / "state"
    kills = rounds(4)
    with database_url(backend, tmp_path, "faults") as url, receiving(secret) as receiver:
        store = Store.open(url, state)
        try:
            freights = seed_store(store, STAGES, PER_STAGE, served, receiver.url)
            for n in range(PER_STAGE):
                for stage in range(STAGES):
                    queue_promotion(store, f"s{stage}", freights[n])
        finally:
            store.close()
        env = {SECRET_ENV: secret}
        landed = 0
        for _ in range(kills):
            with server(state, url, env) as engine:
                landed += kill_at_random(engine, rng, 0.1, 1.5)
        with server(state, url, env) as engine:
            promoted = STAGES * PER_STAGE
            converge(engine, receiver, promoted)
        promotions, found = check_all(url, state, PROJECT, served, receiver)
    assert_survived(promotions, found, expected=promoted, kills=kills, landed=landed, seed=seed)
