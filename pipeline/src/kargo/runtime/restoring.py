"""Bring stages back after their processes went away (make down, a reboot): redeploy the last spec.

Every successful deploy leaves its spec in the state file. `restore` first adopts what runs
(a dead HAProxy is started again, dead instances are marked), then redeploys each stage that
has no healthy instance of its last freight, from the cached environment, so the freight a stage
reports is the freight it serves again.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from kargo.liveness import is_alive
from kargo.runtime.deploying import Emit
from kargo.runtime.healing import redeploy
from kargo.runtime.inspecting import adopt
from kargo.runtime.processes import port_accepts
from kargo.runtime.state import InstanceState, RuntimePaths, load_state


async def _quiet(_: str) -> None:
    return None


def stages_to_restore(state_dir: Path) -> list[str]:
    """Stages whose last deployed freight has no live, listening, routed instance."""
    state = load_state(RuntimePaths(state_dir))
    missing = []
    for stage, data in sorted(state.deployed.items()):
        serving = [
            instance
            for instance in state.stage_instances(stage)
            if instance.freight == data.get("freight")
            and instance.state is InstanceState.SERVING
            and is_alive(instance.pid, instance.pid_start_time)
            and port_accepts(instance.port)
        ]
        if not serving:
            missing.append(stage)
    return missing


async def restore(
    state_dir: Path, emit: Emit = _quiet, skip: Collection[str] = ()
) -> dict[str, str]:
    """Adopt what runs, then redeploy every stage that lost its instances; say what happened.

    Stages in `skip` are left as they are: a promotion a crash interrupted deploys them again
    (redeploying the last freight first would switch its users back to it in between).
    """
    adopt(state_dir)
    lost = [stage for stage in stages_to_restore(state_dir) if stage not in skip]
    return {stage: await redeploy(state_dir, stage, emit) for stage in lost}
