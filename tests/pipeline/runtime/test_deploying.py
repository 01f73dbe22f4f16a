"""Blue/green deploys of the real Planning Poker app behind a real HAProxy."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from kargo.liveness import is_alive
from kargo.runtime import (
    abandon_deploy,
    adopt,
    describe_router,
    describe_stage,
    restore,
    stages_to_restore,
    stop_all,
)
from kargo.runtime.deploying import DeploySpec, InstancesNotReady, run_init
from kargo.runtime.processes import find_marked
from kargo.runtime.state import InstanceRecord, InstanceState, RuntimePaths, load_state

from tests.pipeline.runtime.support import Load, deploy, poker_spec
from tests.services import REPO_ROOT, free_port

pytestmark = pytest.mark.haproxy


def serving_freights(state_dir: Path, stage: str) -> set[str]:
    """The freights of the instances the stage's router sends traffic to."""
    return {i.freight for i in describe_stage(state_dir, stage) if i.state == "Serving"}


def test_a_first_deploy_serves_the_app_on_the_stage_port_and_lists_its_targets(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    instances = deploy(state_dir, poker_spec("dev", "freight-a", stage_port, 2))

    assert len(instances) == 2
    assert httpx.get(f"http://127.0.0.1:{stage_port}/healthz").json() == {"status": "ok"}
    described = describe_stage(state_dir, "dev")
    assert {(i.freight, i.track, i.healthy) for i in described} == {("freight-a", "stable", True)}
    targets = json.loads(RuntimePaths(state_dir).targets_file.read_text())
    apps = [group for group in targets if group["labels"]["component"] == "app"]
    assert sorted(group["targets"][0] for group in apps) == sorted(
        f"127.0.0.1:{i.port}" for i in described
    )
    assert all(
        g["labels"]["stage"] == "dev" and g["labels"]["freight"] == "freight-a" for g in apps
    )
    router = describe_router(state_dir)
    assert f"127.0.0.1:{router.stats_port}" in [g["targets"][0] for g in targets]
    exporter = httpx.get(f"http://127.0.0.1:{router.stats_port}/metrics")
    assert "haproxy_backend_active_servers" in exporter.text


def test_deploying_the_running_freight_again_keeps_its_instances(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    first = deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    again = deploy(state_dir, poker_spec("dev", "freight-a", stage_port))

    assert [i.pid for i in again] == [i.pid for i in first]


def test_a_blue_green_switch_under_load_fails_no_request_and_stops_the_old_version(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    blue = deploy(state_dir, poker_spec("dev", "freight-a", stage_port))

    with Load(f"http://127.0.0.1:{stage_port}/healthz") as load:
        time.sleep(0.3)
        green = deploy(state_dir, poker_spec("dev", "freight-b", stage_port))
        time.sleep(0.3)

    assert load.report.failed == 0, load.report.errors[:5]
    assert load.report.ok > 20
    assert serving_freights(state_dir, "dev") == {"freight-b"}
    assert [i.freight for i in green] == ["freight-b"]
    assert not is_alive(blue[0].pid, blue[0].pid_start_time)


def test_a_second_stage_gets_its_own_port_without_interrupting_the_first(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    production_port = free_port()

    with Load(f"http://127.0.0.1:{stage_port}/healthz") as load:
        deploy(state_dir, poker_spec("prod", "freight-a", production_port))

    assert load.report.failed == 0, load.report.errors[:5]
    assert httpx.get(f"http://127.0.0.1:{production_port}/healthz").status_code == 200
    assert describe_router(state_dir).stage_ports == {"dev": stage_port, "prod": production_port}


def test_a_version_that_never_becomes_ready_fails_and_the_old_one_keeps_serving(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    broken = DeploySpec(
        stage="dev",
        freight="freight-broken",
        commit="freight-broken",
        port=stage_port,
        replicas=1,
        argv=[sys.executable, "-c", "import sys; print('no database'); sys.exit(3)"],
        env={},
        readiness_path="/healthz",
        health_path="/healthz",
        readiness_timeout=10,
    )

    with pytest.raises(InstancesNotReady, match="no database"):
        deploy(state_dir, broken)

    assert serving_freights(state_dir, "dev") == {"freight-a"}
    assert len(describe_stage(state_dir, "dev")) == 1
    assert httpx.get(f"http://127.0.0.1:{stage_port}/healthz").status_code == 200


CRASHING_DEPLOY = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from kargo.runtime.deploying import deploy_blue_green
    from tests.pipeline.runtime.support import poker_spec
    spec = poker_spec("dev", "freight-b", int(sys.argv[2]), replicas=2)
    asyncio.run(deploy_blue_green(Path(sys.argv[1]), spec))
    """
)


def kill_deploy_once_started(state_dir: Path, stage_port: int) -> set[int | None]:
    """Run a 2-replica deploy of freight-b in another process; SIGKILL it once both started."""
    paths = RuntimePaths(state_dir)
    engine = subprocess.Popen(
        [sys.executable, "-c", CRASHING_DEPLOY, str(state_dir), str(stage_port)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        started = [i for i in load_state(paths).instances if i.freight == "freight-b" and i.pid]
        if len(started) == 2:
            break
        time.sleep(0.01)
    engine.send_signal(signal.SIGKILL)
    engine.wait()
    return {i.pid for i in load_state(paths).instances if i.freight == "freight-b"}


def test_a_deploy_killed_midway_converges_when_run_again_without_failing_requests(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port, 2))

    with Load(f"http://127.0.0.1:{stage_port}/healthz") as load:
        half_started = kill_deploy_once_started(state_dir, stage_port)
        assert serving_freights(state_dir, "dev") == {"freight-a"}  # not switched yet

        final = deploy(state_dir, poker_spec("dev", "freight-b", stage_port, 2))

    assert load.report.failed == 0, load.report.errors[:5]
    assert {i.pid for i in final} == half_started  # adopted, not started twice
    assert all(i.state is InstanceState.SERVING and i.freight == "freight-b" for i in final)
    assert sorted(p.pid for p in find_marked(state_dir)) == sorted(i.pid or 0 for i in final)


def test_an_abandoned_deploy_stops_what_it_started_and_leaves_the_stage_serving(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    half_started = kill_deploy_once_started(state_dir, stage_port)

    abandoned = abandon_deploy(state_dir, "dev")

    assert abandoned == 2
    assert not any(is_alive(pid, None) for pid in half_started)
    assert serving_freights(state_dir, "dev") == {"freight-a"}
    assert httpx.get(f"http://127.0.0.1:{stage_port}/readyz").status_code == 200


def test_adopt_restarts_a_dead_router_and_marks_a_dead_instance_unhealthy(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    first, second = deploy(state_dir, poker_spec("dev", "freight-a", stage_port, 2))
    router = describe_router(state_dir)
    assert router.pid is not None
    os.kill(router.pid, signal.SIGKILL)
    assert first.pid is not None
    os.kill(first.pid, signal.SIGKILL)
    time.sleep(0.2)

    stages = adopt(state_dir)

    health = {i.pid: i.healthy for i in stages["dev"]}
    assert health == {first.pid: False, second.pid: True}
    assert describe_router(state_dir).pid not in (None, router.pid)
    for _ in range(10):
        assert httpx.get(f"http://127.0.0.1:{stage_port}/healthz").status_code == 200


def test_stop_all_stops_every_instance_and_the_router(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    instances = deploy(state_dir, poker_spec("dev", "freight-a", stage_port))

    stopped = stop_all(state_dir)

    assert stopped == 1
    assert not is_alive(instances[0].pid, instances[0].pid_start_time)
    assert describe_router(state_dir).pid is None
    assert describe_stage(state_dir, "dev") == []
    assert find_marked(state_dir) == []


def test_restore_brings_a_stopped_stage_back_to_its_last_freight(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    stop_all(state_dir)
    assert stages_to_restore(state_dir) == ["dev"]

    outcome = asyncio.run(restore(state_dir))

    assert outcome == {"dev": f"restored freight-a on 127.0.0.1:{stage_port}"}
    assert serving_freights(state_dir, "dev") == {"freight-a"}
    assert httpx.get(f"http://127.0.0.1:{stage_port}/readyz").status_code == 200
    router = describe_router(state_dir).pid
    assert router is not None
    os.kill(router, signal.SIGKILL)
    time.sleep(0.2)
    assert asyncio.run(restore(state_dir)) == {}  # instances alive: only the router restarts
    assert httpx.get(f"http://127.0.0.1:{stage_port}/readyz").status_code == 200


def test_the_init_command_is_not_mistaken_for_an_instance(state_dir: Path) -> None:
    spec = poker_spec("dev", "freight-a", free_port())
    spec.init_argv = [sys.executable, "-c", "import time; time.sleep(1)"]
    record = InstanceRecord(id="dev-a-1", stage="dev", port=1, freight="a", commit="a")
    seen: list[list[str]] = []

    async def run_and_look() -> None:
        task = asyncio.create_task(run_init(RuntimePaths(state_dir), spec, record))
        await asyncio.sleep(0.5)
        seen.append([p.instance_id for p in find_marked(state_dir)])
        await task

    asyncio.run(run_and_look())

    assert seen == [[]]
