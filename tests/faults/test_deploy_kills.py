"""SIGKILL of the engine at random points across real deploys of the app; it converges after.

Two stages deploy Planning Poker as kargo/stage.yaml does: `blue` blue/green, `canary` through a
canary (50%, a pause, 100%). Each first gets one deploy with no fault, so its port serves; then
client loops hit both ports through HAProxy while the rest are queued and the engine is killed at
seeded random moments (FAULT_ROUNDS kills, default 3), restarted each time, and finally left to
converge. Then: no promotion stuck, each stage's port serves the commit of the freight it names
(HTTP through HAProxy), no old or stray instance runs, events, audit records and webhook
deliveries are each there exactly once, and no client request failed.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest
from kargo.runtime import stop_all
from kargo.store import Store

from tests.faults.conftest import rounds
from tests.faults.deploys import BLUE_GREEN, canary_strategy, check_serving, deploy_pipeline
from tests.faults.invariants import Violations, check_deliveries, check_promotions, check_records
from tests.faults.pipeline import (
    PROJECT,
    SECRET_ENV,
    all_terminal,
    apply_with_freight,
    converge,
    queue_promotion,
    webhook_secret,
)
from tests.faults.servers import kill, server
from tests.pipeline.databases import database_url
from tests.pipeline.notify.receiver import receiving
from tests.pipeline.runtime.support import Load
from tests.services import free_port, require_binary

pytestmark = pytest.mark.haproxy

# Deploys per stage in `make test` (two stages): 10 on SQLite, 4 on PostgreSQL; make chaos
# sets FAULT_DEPLOYS for more.
BACKENDS = [
    pytest.param("sqlite", 5, id="sqlite"),
    pytest.param("postgresql", 2, id="postgresql", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize(("backend", "per_stage"), BACKENDS)
def test_engine_killed_during_real_deploys_converges_and_every_stage_serves_its_freight(
    backend: str, per_stage: int, seed: int, tmp_path: Path
) -> None:
    require_binary("haproxy")
    per_stage = int(os.environ.get("FAULT_DEPLOYS", per_stage))
    rng = random.Random(seed)
    secret = webhook_secret()
    state = tmp_path / "state"
    ports = {"blue": free_port(), "canary": free_port()}
    strategies = {"blue": BLUE_GREEN, "canary": canary_strategy()}
    kills = rounds(3)
    env = {SECRET_ENV: secret}
    try:
        with database_url(backend, tmp_path, "faults") as url, receiving(secret) as receiver:
            store = Store.open(url, state)
            try:
                stages = {name: (ports[name], strategies[name]) for name in ports}
                freights = apply_with_freight(
                    store, deploy_pipeline(receiver.url, stages), per_stage
                )
                for stage in ports:
                    queue_promotion(store, stage, freights[0])
            finally:
                store.close()
            with server(state, url, env) as engine:
                converge(engine, receiver, len(ports))
            landed = 0
            with Load(f"http://127.0.0.1:{ports['blue']}/version") as blue_load:
                with Load(f"http://127.0.0.1:{ports['canary']}/version") as canary_load:
                    store = Store.open(url, state)
                    try:
                        for freight in freights[1:]:
                            for stage in ports:
                                queue_promotion(store, stage, freight)
                    finally:
                        store.close()
                    for _ in range(kills):
                        with server(state, url, env) as engine:
                            time.sleep(rng.uniform(0.5, 6.0))
                            landed += not all_terminal(engine)
                            kill(engine.process)
                    with server(state, url, env) as engine:
                        converge(engine, receiver, len(ports) * per_stage)
                    found = Violations()
                    store = Store.open(url, state)
                    try:
                        promotions = check_promotions(store, PROJECT, found)
                        check_records(store, PROJECT, promotions, found)
                        check_deliveries(store, PROJECT, receiver, found)
                        serving = check_serving(store, state, ports, found)
                    finally:
                        store.close()
                    time.sleep(0.5)  # half a second more of load on what the stages serve
    finally:
        stop_all(state, timeout=5)
    failed = blue_load.report.failed + canary_load.report.failed
    ok = blue_load.report.ok + canary_load.report.ok
    if failed:
        errors = blue_load.report.errors + canary_load.report.errors
        found.add("client request failed", str(errors[:3]))
    phases = Counter(p["status"]["phase"] for p in promotions)
    resumed = sum(
        1
        for body in promotions
        for step in body["status"].get("stepExecutionMetadata", [])
        if step.get("attempts", 0) > 1
    )
    print(
        f"{len(promotions)} deploys, {kills} kills ({landed} while deploys ran), "
        f"{resumed} deploy steps resumed, phases {dict(phases)}, requests ok {ok} failed {failed}, "
        f"serving {[(s.stage, s.served) for s in serving]}, violations: {dict(found.counts)}"
    )
    assert len(promotions) == len(ports) * per_stage
    assert landed >= 1, "no kill landed while deploys ran"
    assert phases["Succeeded"] >= len(ports), phases
    assert found.total == 0, found.report(seed)
