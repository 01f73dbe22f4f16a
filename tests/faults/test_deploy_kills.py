"""SIGKILL of the engine at random points across real deploys of the app; it converges after.

Two stages deploy Planning Poker as kargo/stage.yaml does: `blue` blue/green, `canary` through a
canary (50%, a pause, 100%). Every deploy is queued up front; once the first ones serve, client
loops hit both ports through HAProxy while the engine is killed at seeded random moments
(FAULT_ROUNDS kills; 2 on SQLite, 1 on PostgreSQL in `make test`), restarted each time, and
finally left to converge. Then: no promotion stuck or ended by a kill, each stage's port serves
the commit of the freight it names (HTTP through HAProxy), no old or stray instance runs,
events, audit records and webhook deliveries are each there exactly once, no client request
failed, and the blue/green stage never switched its users back to an older freight.
"""

from __future__ import annotations

import os
import random
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import pytest
from kargo.runtime import stop_all
from kargo.runtime.state import InstanceState, RuntimePaths, load_state
from kargo.store import Store

from tests.faults.conftest import chaos, rounds
from tests.faults.deploys import (
    BLUE_GREEN,
    Versions,
    canary_strategy,
    check_serving,
    deploy_pipeline,
    served_commit,
)
from tests.faults.invariants import Violations, check_deliveries, check_promotions, check_records
from tests.faults.kills import assert_survived, kill_at_random, phases
from tests.faults.pipeline import (
    PROJECT,
    SECRET_ENV,
    all_terminal,
    apply_with_freight,
    converge,
    promote,
    queue_promotion,
    webhook_secret,
)
from tests.faults.servers import kill, server
from tests.pipeline.databases import database_url
from tests.pipeline.harness import wait_until
from tests.pipeline.notify.receiver import receiving
from tests.pipeline.runtime.support import Load
from tests.services import free_port, require_binary

pytestmark = pytest.mark.haproxy

# (deploys per stage, kills) in `make test`, two stages: 6 deploys and 2 kills on SQLite, 6 and
# 1 on PostgreSQL; `make chaos` runs FAULT_DEPLOYS per stage (default 8) and FAULT_ROUNDS kills.
BACKENDS = [
    pytest.param("sqlite", 3, 2, id="sqlite"),
    pytest.param("postgresql", 3, 1, id="postgresql", marks=pytest.mark.postgres),
]
# When a kill comes, in seconds after the engine (re)started: on a quiet machine the deploys
# queued behind the first ones end a few seconds later, so a later kill would find no work.
KILL_WINDOW = (0.3, 2.5)


@pytest.mark.parametrize(("backend", "per_stage", "kills"), BACKENDS)
def test_engine_killed_during_real_deploys_converges_and_every_stage_serves_its_freight(
    backend: str, per_stage: int, kills: int, seed: int, tmp_path: Path
) -> None:
    require_binary("haproxy")
    per_stage = int(os.environ.get("FAULT_DEPLOYS", 8 if chaos() else per_stage))
    kills = rounds(kills)
    rng = random.Random(seed)
    secret = webhook_secret()
    state = tmp_path / "state"
    ports = {"blue": free_port(), "canary": free_port()}

    def stage_url(stage: str) -> str:
        return f"http://127.0.0.1:{ports[stage]}"

    strategies = {"blue": BLUE_GREEN, "canary": canary_strategy()}
    env = {SECRET_ENV: secret}
    try:
        with database_url(backend, tmp_path, "faults") as url, receiving(secret) as receiver:
            store = Store.open(url, state)
            try:
                stages = {name: (ports[name], strategies[name]) for name in ports}
                freights = apply_with_freight(
                    store, deploy_pipeline(receiver.url, stages), per_stage
                )
                for freight in freights:  # queued up front, as the API queues them
                    for stage in ports:
                        queue_promotion(store, stage, freight)
            finally:
                store.close()
            landed = 0
            with ExitStack() as loads:
                with server(state, url, env) as engine:
                    for stage, port in ports.items():  # the first deploys run with no fault
                        wait_until(partial(served_commit, port), timeout=120, what=stage)
                    blue_load = loads.enter_context(Load(f"{stage_url('blue')}/version"))
                    versions = loads.enter_context(Versions(ports["blue"]))
                    canary_load = loads.enter_context(Load(f"{stage_url('canary')}/version"))
                    landed += kill_at_random(engine, rng, *KILL_WINDOW)
                for _ in range(kills - 1):
                    with server(state, url, env) as engine:
                        landed += kill_at_random(engine, rng, *KILL_WINDOW)
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
    for body in promotions:  # the only way a kill may end a deploy: too many interruptions
        status = body["status"]
        if status["phase"] != "Succeeded" and "interrupted" not in status.get("message", ""):
            found.add("deploy ended by the fault", f"{body['metadata']['name']}: {status}")
    succeeded = phases(promotions)["Succeeded"]
    if succeeded == len(promotions) and versions.went_back():
        found.add("stage switched users back to an older freight", str(versions.went_back()))
    assert_survived(
        promotions,
        found,
        expected=len(ports) * per_stage,
        kills=kills,
        landed=landed,
        seed=seed,
        details=f"requests ok {ok} failed {failed}, "
        f"serving {[(s.stage, s.served) for s in serving]}, ",
    )
    assert succeeded >= len(ports), phases(promotions)


def switched_not_retired(paths: RuntimePaths, freight: str) -> bool:
    """Whether `freight` serves while the old instances are still being retired."""
    instances = load_state(paths).stage_instances("blue")
    new = any(i.freight == freight and i.state is InstanceState.SERVING for i in instances)
    return new and any(i.state is InstanceState.DRAINING for i in instances)


@pytest.mark.chaos
def test_an_engine_killed_after_the_switch_resumes_without_switching_users_back(
    tmp_path: Path,
) -> None:
    """Regression: the restart redeployed the old freight before resuming the promotion."""
    require_binary("haproxy")
    state = tmp_path / "state"
    port = free_port()
    store = Store.open(None, state)
    try:
        freights = apply_with_freight(store, deploy_pipeline(None, {"blue": (port, BLUE_GREEN)}), 2)
        queue_promotion(store, "blue", freights[0])
    finally:
        store.close()
    paths = RuntimePaths(state)
    try:
        with server(state) as engine:
            wait_until(lambda: all_terminal(engine), timeout=120, what="the first deploy")
            with Versions(port) as versions:
                promote(engine, "blue", freights[1])
                wait_until(
                    lambda: switched_not_retired(paths, freights[1]),
                    timeout=90,
                    what="the switch",
                )
                kill(engine.process)
                with server(state) as engine:
                    wait_until(lambda: all_terminal(engine), timeout=120, what="the resume")
                    time.sleep(1)
                store = Store.open(None, state)
                try:
                    found = Violations()
                    promotions = check_promotions(store, PROJECT, found)
                    check_serving(store, state, {"blue": port}, found)
                finally:
                    store.close()
    finally:
        stop_all(state, timeout=5)
    print(f"versions seen {versions.seen}, failed {versions.failed}, {dict(found.counts)}")
    deploy = promotions[1]["status"]["stepExecutionMetadata"][0]
    assert deploy.get("attempts", 0) >= 2, f"the kill did not interrupt the deploy: {deploy}"
    assert [p["status"]["phase"] for p in promotions] == ["Succeeded", "Succeeded"]
    assert versions.went_back() == []
    assert versions.failed == 0
    assert found.total == 0, found.examples
