"""The webhook receiver down past the first retry steps, the engine killed meanwhile, then back.

The receiver's port refuses connections while six promotions run and their deliveries fail
through the first steps of a 200ms, 500ms, 1s, 2s… schedule; the server is then killed and
restarted, and the receiver comes back on the same port. Every promotion event must arrive,
each under one webhook-id whatever the number of attempts, and the delivery log must show the
retries.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest
from kargo.store import Store

from tests.faults.invariants import Violations, check_deliveries, check_promotions
from tests.faults.pipeline import (
    API,
    PROJECT,
    SECRET_ENV,
    all_terminal,
    promote,
    seed_store,
    webhook_secret,
)
from tests.faults.servers import kill, server
from tests.pipeline.databases import database_url
from tests.pipeline.harness import wait_until
from tests.pipeline.notify.receiver import Receiver, receiving
from tests.services import free_port

STAGES = 2
PER_STAGE = 3
DOWN_BEYOND_FIRST_STEPS = 2.0  # 200ms + 500ms + 1s of the schedule, and then some


@pytest.mark.parametrize("backend", [pytest.param("sqlite", id="sqlite")])
def test_deliveries_survive_a_receiver_outage_and_an_engine_kill_without_new_ids(
    backend: str, seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    secret = webhook_secret()
    port = free_port()
    url_of_receiver = f"http://127.0.0.1:{port}/hooks"
    served = tmp_path / "served"
    served.mkdir()
    state = tmp_path / "state"
    env = {SECRET_ENV: secret}
    with database_url(backend, tmp_path, "outage") as url:
        store = Store.open(url, state)
        try:
            freights = seed_store(store, STAGES, PER_STAGE, served, url_of_receiver)
        finally:
            store.close()
        with server(state, url, env) as engine:
            for n in range(PER_STAGE):
                for stage in range(STAGES):
                    promote(engine, f"s{stage}", freights[n])
            wait_until(lambda: all_terminal(engine), timeout=60, what="every promotion to end")
            time.sleep(DOWN_BEYOND_FIRST_STEPS + rng.uniform(0.0, 1.0))
            failing = httpx.get(
                f"{engine.base}{API}/projects/{PROJECT}/webhookdeliveries",
                headers=engine.headers,
            ).json()["items"]
            kill(engine.process)
        receiver = Receiver(secret)
        with receiving(secret, port=port, receiver=receiver), server(state, url, env) as engine:
            expected = 3 * STAGES * PER_STAGE
            wait_until(lambda: len(receiver.accepted()) >= expected, timeout=60, what="deliveries")
            time.sleep(1.0)  # a duplicate would arrive now
            delivered = httpx.get(
                f"{engine.base}{API}/projects/{PROJECT}/webhookdeliveries",
                headers=engine.headers,
            ).json()["items"]
        store = Store.open(url, state)
        try:
            found = Violations()
            check_promotions(store, PROJECT, found)
            check_deliveries(store, PROJECT, receiver, found)
        finally:
            store.close()
    assert failing and all(d["attempts"] >= 3 for d in failing), [d["attempts"] for d in failing]
    assert all(d["status"] == "Succeeded" for d in delivered), {d["status"] for d in delivered}
    assert len(receiver.accepted()) == expected
    assert found.total == 0, found.report(seed)
