"""SIGKILL of an app instance during a blue/green switch and during a canary; of HAProxy.

A client loop hits the stage's port through HAProxy throughout; the failed requests are counted
and printed. After each fault: the promotion ended (Failed or Errored with a message, or
Succeeded), the stage's port serves the commit of the freight the stage names, nothing stray
runs, and every promotion has its events and audit records exactly once.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from kargo.runtime.routing import router_pid
from kargo.runtime.state import InstanceState, RuntimePaths

from tests.faults.deploys import BLUE_GREEN, Deploying, canary_strategy, deploying, wait_serving
from tests.faults.pipeline import PROJECT
from tests.pipeline.harness import wait_until
from tests.pipeline.runtime.support import Load

pytestmark = pytest.mark.haproxy


def kill_pid(pid: int | None) -> None:
    """SIGKILL one process of ours."""
    assert pid is not None
    os.kill(pid, signal.SIGKILL)


def baseline(run: Deploying, stage: str) -> None:
    """Deploy the first freight with no fault; its port serves it."""
    promotion = run.wait_ended(run.promote(stage, run.freights[0]))
    assert promotion["status"]["phase"] == "Succeeded", promotion["status"]
    wait_serving(run.ports[stage], run.commit(run.freights[0]))


def outcome(run: Deploying, name: str, stage: str, load: Load) -> str:
    """Wait for the promotion and for the port to serve the stage's freight; a summary."""
    status = run.wait_ended(name)["status"]
    if status["phase"] != "Succeeded":
        assert status.get("message"), status
    body = run.store.get("Stage", PROJECT, stage) or {}
    current = body["status"]["freightHistory"][0]["name"]
    recovered = wait_serving(run.ports[stage], run.commit(current), timeout=60)
    time.sleep(1.5)  # more load on what the stage serves now
    return (
        f"promotion {status['phase']} ({status.get('message', '')[:160]}); stage at "
        f"{current[:12]}, served {recovered:.1f}s after; requests ok {load.report.ok} "
        f"failed {load.report.failed} {load.report.errors[:2]}"
    )


def test_the_new_instance_killed_as_blue_green_switches_fails_clearly_and_the_stage_recovers(
    tmp_path: Path,
) -> None:
    with deploying(tmp_path, {"blue": BLUE_GREEN}, 2) as run:
        baseline(run, "blue")
        with Load(f"http://127.0.0.1:{run.ports['blue']}/version") as load:
            name = run.promote("blue", run.freights[1])
            new = wait_until(
                lambda: next(
                    (
                        i
                        for i in run.instances("blue")
                        if i.freight == run.freights[1] and i.state is InstanceState.SERVING
                    ),
                    None,
                ),
                timeout=90,
                what="the switch to the new instance",
            )
            kill_pid(new.pid)
            summary = outcome(run, name, "blue", load)
        found = run.check()
    print(summary, dict(found.counts))
    assert found.total == 0, found.examples


def test_the_canary_killed_during_its_pause_fails_the_promotion_and_stable_keeps_serving(
    tmp_path: Path,
) -> None:
    with deploying(tmp_path, {"canary": canary_strategy()}, 2) as run:
        baseline(run, "canary")
        with Load(f"http://127.0.0.1:{run.ports['canary']}/version") as load:
            name = run.promote("canary", run.freights[1])
            canary = wait_until(
                lambda: next(
                    (
                        i
                        for i in run.instances("canary")
                        if i.freight == run.freights[1]
                        and i.weight > 0
                        and i.pid is not None
                        and i.state is InstanceState.SERVING
                    ),
                    None,
                ),
                timeout=90,
                what="the canary to take traffic",
            )
            kill_pid(canary.pid)
            summary = outcome(run, name, "canary", load)
            phase = run.promotion(name)["status"]["phase"]
        found = run.check()
    print(summary, dict(found.counts))
    assert phase == "Failed", summary
    assert found.total == 0, found.examples


@pytest.mark.parametrize("when", ["idle", pytest.param("deploying", marks=pytest.mark.chaos)])
def test_haproxy_killed_is_started_again_and_traffic_recovers(tmp_path: Path, when: str) -> None:
    with deploying(tmp_path, {"blue": BLUE_GREEN}, 2) as run:
        baseline(run, "blue")
        paths = RuntimePaths(run.state)
        with Load(f"http://127.0.0.1:{run.ports['blue']}/version") as load:
            name = None
            if when == "deploying":
                name = run.promote("blue", run.freights[1])
                wait_until(
                    lambda: any(i.freight == run.freights[1] for i in run.instances("blue")),
                    timeout=60,
                    what="the new instance",
                )
            killed = router_pid(paths)
            kill_pid(killed)
            wait_until(
                lambda: router_pid(paths) not in (None, killed),
                timeout=30,
                what="HAProxy to be started again",
            )
            if name is None:
                recovered = wait_serving(run.ports["blue"], run.commit(run.freights[0]))
                time.sleep(1.5)
                summary = f"served again {recovered:.1f}s after the restart; requests ok " + (
                    f"{load.report.ok} failed {load.report.failed}"
                )
            else:
                summary = outcome(run, name, "blue", load)
        found = run.check()
    print(when, summary, dict(found.counts))
    assert found.total == 0, found.examples
