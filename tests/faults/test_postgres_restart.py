"""PostgreSQL restarted while promotions run: the engine rides it out and loses nothing.

A private cluster (never the shared server) backs a server running 20 promotions of shell
steps; at seeded random moments the cluster stops (fast: every connection is cut) and starts
again a moment later, FAULT_ROUNDS times (default 2). Afterwards every promotion has ended,
every stage serves what it names, and no event, audit record or delivery is lost or doubled.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
from kargo.store import Store

from tests.faults.conftest import rounds
from tests.faults.invariants import (
    check_all,
)
from tests.faults.pipeline import (
    PROJECT,
    SECRET_ENV,
    all_terminal,
    converge,
    queue_promotion,
    seed_store,
    webhook_secret,
)
from tests.faults.private_postgres import private_postgres
from tests.faults.servers import server
from tests.pipeline.harness import wait_until
from tests.pipeline.notify.receiver import receiving

STAGES = 10
PER_STAGE = 2


def test_promotions_survive_postgresql_restarts(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    secret = webhook_secret()
    served = tmp_path / "served"
    served.mkdir()
    state = tmp_path / "state"
    restarts = rounds(2)
    with private_postgres() as cluster, receiving(secret) as receiver:
        store = Store.open(cluster.url, state)
        try:
            freights = seed_store(store, STAGES, PER_STAGE, served, receiver.url)
            for n in range(PER_STAGE):
                for stage in range(STAGES):
                    queue_promotion(store, f"s{stage}", freights[n])
        finally:
            store.close()
        with server(state, cluster.url, {SECRET_ENV: secret}) as engine:
            landed = 0
            for _ in range(restarts):
                time.sleep(rng.uniform(0.3, 1.5))
                landed += not all_terminal(engine)
                cluster.stop("fast")
                time.sleep(rng.uniform(0.2, 1.5))
                cluster.start()
            promoted = STAGES * PER_STAGE
            converge(engine, receiver, promoted)
        promotions, found = check_all(cluster.url, state, PROJECT, served, receiver)
    print(f"{len(promotions)} promotions, {restarts} restarts ({landed} while promotions ran), "
          f"violations: {dict(found.counts)}")  # fmt: skip
    assert len(promotions) == promoted
    assert found.total == 0, found.report(seed)


def test_a_request_while_postgresql_is_down_answers_503_then_200_once_it_is_back(
    tmp_path: Path,
) -> None:
    # The token is checked before the app's error handlers run: a database failure there was a
    # bare 500 "Internal Server Error" instead of the documented 503 Unavailable.
    state = tmp_path / "state"
    with private_postgres() as cluster, server(state, cluster.url) as engine:
        url = f"{engine.base}/api/v1/projects/{PROJECT}/promotions"
        cluster.stop("fast")
        try:
            answer = httpx.get(url, headers=engine.headers, timeout=30)
        finally:
            cluster.start()
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["code"] == "Unavailable" and "database is unavailable" in error["message"]

        def read_again() -> httpx.Response | None:
            answer = httpx.get(url, headers=engine.headers, timeout=30)
            return None if answer.status_code == 503 else answer

        again = wait_until(read_again, timeout=60, what="the server to read after the restart")
        assert again.status_code == 200, again.text
