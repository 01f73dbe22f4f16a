"""What the runtime runs, seen from outside a deploy: describe, re-adopt, stop everything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kargo.liveness import is_alive
from kargo.model.instance import Instance
from kargo.runtime import routing
from kargo.runtime.deploying import reconcile_processes
from kargo.runtime.processes import port_accepts, stop_process_blocking
from kargo.runtime.state import InstanceState, RuntimePaths, load_state, locked_state
from kargo.runtime.targets import write_targets


@dataclass(frozen=True)
class RouterInfo:
    """The router of a state folder."""

    pid: int | None
    stats_port: int | None
    stage_ports: dict[str, int]


def describe_stage(state_dir: Path, stage: str) -> list[Instance]:
    """The instances of a stage; `healthy` is false when the process is gone or not listening."""
    state = load_state(RuntimePaths(state_dir))
    return [
        Instance(
            id=instance.id,
            pid=instance.pid,
            port=instance.port,
            freight=instance.freight,
            commit=instance.commit,
            track=str(instance.track),
            state=str(instance.state),
            healthy=is_alive(instance.pid, instance.pid_start_time) and port_accepts(instance.port),
            log_file=instance.log_file,
        )
        for instance in state.stage_instances(stage)
    ]


def describe_router(state_dir: Path) -> RouterInfo:
    """The router's pid (None when not running), exporter port and stage ports."""
    paths = RuntimePaths(state_dir)
    state = load_state(paths)
    return RouterInfo(
        pid=routing.router_pid(paths),
        stats_port=state.stats_port,
        stage_ports={name: route.port for name, route in state.routes.items()},
    )


def adopt(state_dir: Path) -> dict[str, list[Instance]]:
    """Re-adopt what runs after an engine restart: restart a dead router, mark dead instances.

    A dead instance stays listed (unhealthy) and is taken out of its backend; its stage is repaired
    by the next deploy. Instances a crashed deploy was retiring are stopped; instances it was
    starting are left for the resumed deploy step to adopt (or for `abandon_deploy`). Returns
    every stage's instances.
    """
    paths = RuntimePaths(state_dir)
    orphans: list[tuple[int, int]] = []
    with locked_state(paths) as state:
        orphans = reconcile_processes(paths, state)
        for instance in [i for i in state.instances if i.state is InstanceState.DRAINING]:
            if instance.pid is not None:
                orphans.append((instance.pid, instance.pid_start_time or 0))
            state.instances.remove(instance)
        routing.restart_if_dead(paths, state)
        for instance in state.instances:
            if not instance.healthy and instance.slot is not None and state.routes:
                try:
                    routing.disable(paths, instance.stage, instance.slot)
                except routing.RouterError:
                    pass  # the router is being replaced; its rendered config already says so
        write_targets(paths, state)
        stages = sorted({instance.stage for instance in state.instances} | set(state.routes))
    for pid, start in orphans:
        stop_process_blocking(pid, start, 10.0)
    return {stage: describe_stage(state_dir, stage) for stage in stages}


def abandon_deploy(state_dir: Path, stage: str, timeout: float = 10.0) -> int:
    """Stop a stage's instances that take no traffic (an aborted or failed deploy); how many."""
    paths = RuntimePaths(state_dir)
    with locked_state(paths) as state:
        unrouted = [i for i in state.stage_instances(stage) if i.state is not InstanceState.SERVING]
        for instance in unrouted:
            if instance.slot is not None:
                try:
                    routing.disable(paths, stage, instance.slot)
                except routing.RouterError:
                    pass  # no router: nothing routes to it anyway
            state.instances.remove(instance)
        write_targets(paths, state)
    for instance in unrouted:
        if instance.pid is not None:
            stop_process_blocking(instance.pid, instance.pid_start_time, timeout)
    return len(unrouted)


def stop_all(state_dir: Path, timeout: float = 10.0) -> int:
    """Stop every instance and the router of a state folder (make down); return how many stopped."""
    paths = RuntimePaths(state_dir)
    if not paths.root.exists():
        return 0
    stopped = 0
    with locked_state(paths) as state:
        orphans = reconcile_processes(paths, state)
        for instance in state.instances:
            if instance.state is InstanceState.SERVING and instance.slot is not None:
                instance.state = InstanceState.DRAINING
        for instance in state.instances:
            if is_alive(instance.pid, instance.pid_start_time) and instance.pid is not None:
                stop_process_blocking(instance.pid, instance.pid_start_time, timeout)
                stopped += 1
        for pid, start in orphans:
            stop_process_blocking(pid, start, timeout)
            stopped += 1
        routing.stop_router(paths)
        state.instances = []
        state.routes = {}
        state.router_pid = None
        write_targets(paths, state)
    return stopped
