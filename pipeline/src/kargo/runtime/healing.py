"""Keep stages serving while the engine runs: a dead HAProxy starts again, lost stages redeploy.

An app instance or HAProxy can die between promotions (SIGKILL, OOM). `restore` repairs that when
the engine starts; the engine also calls `restart_router` and `redeploy` every few seconds, for
the stages no promotion is deploying, so the freight a stage names keeps serving without a restart.
"""

from __future__ import annotations

from pathlib import Path

from kargo.runtime import routing
from kargo.runtime.deploying import Emit, InstancesNotReady, deploy_blue_green, spec_from_dict
from kargo.runtime.processes import ProcessStartError
from kargo.runtime.routing import RouterError
from kargo.runtime.state import RuntimePaths, load_state, locked_state
from kargo.runtime.substitution import UnknownPlaceholder


async def _quiet(_: str) -> None:
    return None


def restart_router(state_dir: Path) -> bool:
    """Start the state folder's HAProxy again when it died; whether it had to."""
    paths = RuntimePaths(state_dir)
    if not paths.state_file.exists():
        return False
    with locked_state(paths) as state:
        return routing.restart_if_dead(paths, state)


async def redeploy(state_dir: Path, stage: str, emit: Emit = _quiet) -> str:
    """Deploy a stage's last deployed spec again (blue/green); what happened."""
    spec = spec_from_dict(load_state(RuntimePaths(state_dir)).deployed[stage])
    if spec.env_dir is not None and not spec.env_dir.exists():
        return f"not restored: environment {spec.env_dir} is gone"
    try:
        await deploy_blue_green(state_dir, spec, emit)
    except (InstancesNotReady, RouterError, ProcessStartError, UnknownPlaceholder, OSError) as exc:
        return f"not restored: {exc}"
    return f"restored {spec.freight[:12]} on 127.0.0.1:{spec.port}"
