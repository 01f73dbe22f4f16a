"""A canary with no live stable instance beside it keeps every user served through HAProxy.

An engine killed during the pause of a stage's first canary resumes the promotion by starting the
canary again at 0% (the deploy step's first call), then walking its steps. With nothing stable to
give the 0% to, HAProxy had no server with a weight and answered 503 until the next setWeight
(two in `test_deploy_kills.py[postgresql]`, seed 1139760329). A stable instance that died leaves
a canary in the same place, and so does a kill as the canary is promoted, after HAProxy drained
the stable instances and before the state file said so.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from kargo.liveness import is_alive
from kargo.runtime import routing, set_canary_weight, start_canary, stop_all
from kargo.runtime.state import RuntimePaths, load_state

from tests.faults.deploys import served_commit
from tests.pipeline.harness import wait_until
from tests.pipeline.runtime.support import deploy, poker_spec
from tests.services import free_port, require_binary

pytestmark = pytest.mark.haproxy


def test_a_first_canary_started_again_after_a_kill_keeps_serving_its_users(
    tmp_path: Path,
) -> None:
    """Regression: the resumed canary of a stage's first freight got weight 0 (HAProxy 503)."""
    require_binary("haproxy")
    state, port = tmp_path / "state", free_port()
    spec = poker_spec("canary", "freight-a", port)
    try:
        (first,) = asyncio.run(start_canary(state, spec, percent=0))
        set_canary_weight(state, "canary", 50)
        assert served_commit(port) == "freight-a"
        (resumed,) = asyncio.run(start_canary(state, spec, percent=0))  # the engine restarted
        assert resumed.pid == first.pid, "the resumed deploy started a new instance"
        assert served_commit(port) == "freight-a"
        weights = [i.weight for i in load_state(RuntimePaths(state)).stage_instances("canary")]
    finally:
        stop_all(state, timeout=5)
    assert weights == [1]


def test_a_canary_beside_a_dead_stable_instance_takes_all_the_traffic(tmp_path: Path) -> None:
    """Regression: a dead stable instance was counted, so the canary at 0% got weight 0 (503)."""
    require_binary("haproxy")
    state, port = tmp_path / "state", free_port()
    try:
        (stable,) = deploy(state, poker_spec("canary", "freight-a", port))
        assert stable.pid is not None
        os.kill(stable.pid, signal.SIGKILL)
        wait_until(lambda: not is_alive(stable.pid, stable.pid_start_time), 10, what="the kill")
        asyncio.run(start_canary(state, poker_spec("canary", "freight-b", port), percent=0))
        assert served_commit(port) == "freight-b"
    finally:
        stop_all(state, timeout=5)


def test_a_canary_started_again_after_a_kill_mid_promotion_gives_stable_its_users_back(
    tmp_path: Path,
) -> None:
    """Regression: stable stayed drained in HAProxy, the resumed canary got weight 0 (503)."""
    require_binary("haproxy")
    state, port = tmp_path / "state", free_port()
    canary = poker_spec("canary", "freight-b", port)
    try:
        (stable,) = deploy(state, poker_spec("canary", "freight-a", port))
        asyncio.run(start_canary(state, canary, percent=0))
        set_canary_weight(state, "canary", 100)
        assert stable.slot is not None
        routing.drain(RuntimePaths(state), "canary", stable.slot)  # then the engine was killed
        asyncio.run(start_canary(state, canary, percent=0))
        assert served_commit(port) == "freight-a"
    finally:
        stop_all(state, timeout=5)
