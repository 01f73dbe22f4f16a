"""An instance started just before the engine was killed, not yet recorded, is adopted whole.

The engine records an instance, spawns it, then writes its pid down; a kill in between leaves the
record without a pid, and the restart adopts the process that carries the instance's markers. A
child inherits them (Planning Poker's migration child does, for a second at start): the restart
took the child's pid, the child exited, the deploy failed "exited before it became ready" and
the instance ran on outside the state (`test_deploy_kills.py[sqlite]` with 3 deploys per stage,
seed 1115916076).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from kargo.liveness import is_alive
from kargo.runtime import adopt, stop_all
from kargo.runtime.processes import MARKER_INSTANCE, MARKER_STATE, spawn
from kargo.runtime.state import (
    InstanceRecord,
    InstanceState,
    RuntimePaths,
    load_state,
    locked_state,
)

from tests.pipeline.harness import wait_until

# An instance that starts a child (inheriting its environment, markers included), then runs on.
WITH_CHILD = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "time.sleep(60)\n"
)


def children(pid: int) -> list[int]:
    """The pids of a process's children."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_a_restart_adopts_an_unrecorded_instance_by_its_own_pid_not_its_childs(
    tmp_path: Path,
) -> None:
    paths = RuntimePaths(tmp_path / "state")
    record = InstanceRecord(
        id="dev-freight-a-0001", stage="dev", port=1, freight="freight-a", commit="freight-a"
    )
    with locked_state(paths) as state:  # recorded, then killed before its pid was written
        state.instances.append(record)
    env = {**os.environ, MARKER_STATE: str(paths.state_dir), MARKER_INSTANCE: record.id}
    pid, start = spawn([sys.executable, "-c", WITH_CHILD], env, tmp_path / "instance.log")
    started = [pid]
    try:
        started += wait_until(lambda: children(pid), timeout=20, what="the instance's child")
        adopt(paths.state_dir)  # what the restarted engine does first
        (adopted,) = load_state(paths).instances
    finally:
        stop_all(paths.state_dir, timeout=5)
        for process in started:
            if is_alive(process, None):
                os.kill(process, signal.SIGKILL)
    assert (adopted.pid, adopted.pid_start_time) == (pid, start), f"the child is {started[1]}"
    assert adopted.state is InstanceState.STARTING
