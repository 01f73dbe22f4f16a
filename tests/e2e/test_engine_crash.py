"""The engine is killed with SIGKILL in the middle of a deploy and restarted, under HTTP load.

HAProxy and the app instances run in their own sessions, so they outlive the engine: the stage
port must keep answering while the engine is down, the resumed promotion must end (Succeeded, or
Errored with a reason), the stage must never report a freight it does not serve, and the load
must see no failed request.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.pipeline_harness import (
    PROJECT,
    TERMINAL_PROMOTION,
    Pipeline,
    process,
    processes,
    running_pipeline,
)
from tests.pipeline.runtime.support import Load
from tests.services import VENV_BIN, require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.haproxy, pytest.mark.prometheus]

NOTE = "app/E2E-CRASH-NOTE.txt"
log = logging.getLogger(__name__)


@pytest.fixture
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """A running pipeline on a fresh clone."""
    require_binary("haproxy")
    require_binary("prometheus")
    with running_pipeline(tmp_path_factory.mktemp("crash")) as running:
        yield running


def engine_pid(state: Path) -> int:
    """The pid of the `kargo server` process of this state folder (and only that one)."""
    found = [
        pid
        for pid, argv in processes()
        if any(arg.endswith("/kargo") for arg in argv) and "server" in argv and str(state) in argv
    ]
    assert len(found) == 1, f"expected one engine process for {state}, found {found}"
    return found[0]


def wait_dead(pid: int, timeout: float = 10.0) -> None:
    """Wait until pid is gone (reaped by the harness's Popen or a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()[0]
        except OSError:
            return
        if status == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"engine {pid} still alive after SIGKILL")


def served_commit(pipeline: Pipeline) -> str:
    """The commit the development stage's port answers with (a new connection each time)."""
    response = httpx.get(f"{pipeline.url('development')}/version", timeout=5)
    assert response.status_code == 200, response.text[:200]
    return str(response.json()["commit"])


def instances(pipeline: Pipeline) -> list[dict[str, Any]]:
    """What the runtime runs for development."""
    stage = pipeline.call("GET", f"/api/v1/projects/{PROJECT}/stages/development?instances=true")
    return list(stage["status"].get("instances") or [])


def assert_stage_serves_its_freight(pipeline: Pipeline, commits: dict[str, str]) -> bool:
    """The stage's current freight is the one served, or a promotion is switching; whether so."""
    before = served_commit(pipeline)
    status = pipeline.get("stages", "development")["status"]
    after = served_commit(pipeline)
    history = status.get("freightHistory") or []
    assert history, status
    current = commits[history[0]["name"]]
    if status.get("currentPromotion"):
        # blue/green: the router switches before the deploy step (and so the promotion) ends
        assert {before, after} <= set(commits.values()), (status, before, after)
        return current in {before, after}
    assert current in {before, after}, (status, current, before, after)
    return True


def wait_for_new_instance(pipeline: Pipeline, name: str, commit: str) -> str:
    """Wait until the promotion's deploy step runs and an instance of commit exists; its state."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = pipeline.get("promotions", name).get("status", {})
        assert status.get("phase") not in TERMINAL_PROMOTION, f"ended before the crash: {status}"
        steps = status.get("stepExecutionMetadata") or []
        if len(steps) == 3 and steps[2].get("status") == "Running":
            new = [i for i in instances(pipeline) if i.get("commit") == commit]
            if new:
                return str(new[0].get("state"))
        time.sleep(0.05)
    raise AssertionError("the deploy step never started a new instance")


def test_an_engine_killed_mid_deploy_resumes_and_the_stage_serves_throughout(
    pipeline: Pipeline,
) -> None:
    commits: dict[str, str] = {}
    switching = 0  # samples where the router served the new freight before the promotion ended
    first = pipeline.commit("e2e: before the crash", {NOTE: "first\n"})
    first_freight = pipeline.freight_for(first)["metadata"]["name"]
    commits[first_freight] = first
    promotion = pipeline.promote("development", first_freight)
    assert promotion["status"]["phase"] == "Succeeded", promotion["status"].get("message")
    assert served_commit(pipeline) == first

    url = pipeline.url("development")
    with Load(f"{url}/healthz") as health, Load(f"{url}/version") as version:
        second = pipeline.commit("e2e: deployed across the crash", {NOTE: "second\n"})
        second_freight = pipeline.freight_for(second)["metadata"]["name"]
        commits[second_freight] = second
        answer = pipeline.call(
            "POST",
            f"/api/v1/projects/{PROJECT}/promotions",
            {"stage": "development", "freight": second_freight},
        )
        name = answer["metadata"]["name"]
        killed_in = wait_for_new_instance(pipeline, name, second)

        pid = engine_pid(pipeline.state)
        os.kill(pid, signal.SIGKILL)
        wait_dead(pid)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{pipeline.engine_url}/healthz", timeout=2)
        time.sleep(1)  # the port serves while no engine runs
        assert served_commit(pipeline) in {first, second}

        env = {k: v for k, v in pipeline.env.items() if k != "KARGO_TOKEN"}
        with process(
            [str(VENV_BIN / "kargo"), "server", "--config", str(pipeline.repo / "kargo")]
            + ["--state-dir", str(pipeline.state), "--port", str(pipeline.ports.engine)],
            pipeline.repo,
            env,
            pipeline.state.parent / "logs" / "engine-restarted.log",
            f"{pipeline.engine_url}/healthz",
        ):
            deadline = time.monotonic() + 90
            while True:
                if not assert_stage_serves_its_freight(pipeline, commits):
                    switching += 1
                status = pipeline.get("promotions", name).get("status", {})
                if status.get("phase") in TERMINAL_PROMOTION:
                    break
                assert time.monotonic() < deadline, f"the promotion did not end: {status}"
                time.sleep(0.5)

            phase = status["phase"]
            deploy = status["stepExecutionMetadata"][2]
            assert deploy.get("attempts", 0) >= 2, f"the deploy step was not resumed: {deploy}"
            assert phase in {"Succeeded", "Errored"}, (killed_in, status)
            if phase == "Errored":
                assert status.get("message"), status
            assert_stage_serves_its_freight(pipeline, commits)
            if phase == "Succeeded":
                assert pipeline.current_freight("development") == second_freight
                assert served_commit(pipeline) == second
                deadline = time.monotonic() + 30
                while any(i.get("commit") != second for i in instances(pipeline)):
                    assert time.monotonic() < deadline, instances(pipeline)
                    time.sleep(0.5)
                assert instances(pipeline), "no instance serves development"
            time.sleep(1)  # a last second of load on what the stage now serves

    log.info(
        "killed while the new instance was %s; promotion %s (%s); switching samples %d; "
        "load ok %d+%d, failed %d+%d",
        killed_in,
        phase,
        status.get("message", ""),
        switching,
        health.report.ok,
        version.report.ok,
        health.report.failed,
        version.report.failed,
    )
    for load in (health, version):
        assert load.report.ok > 0
        assert load.report.failed == 0, (killed_in, load.report.errors[:5])
