"""Canary releases on the local runtime: the new version beside the stable one, a share of traffic.

The canary's instances join the stage's backend with `track=canary`; HAProxy server weights give
them the wanted percentage of requests (`set server ... weight`). With no live stable instance
beside it (a stage's first freight) the canary takes every request whatever its percentage:
weight 0 on every server would leave HAProxy none to answer with (503). Promoting makes them the
stable track and retires the old version; aborting retires the canary and gives stable all
traffic back. Every change is written to the state file, like a blue/green deploy.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

from kargo.liveness import is_alive
from kargo.runtime import routing
from kargo.runtime.deploying import (
    DeploySpec,
    Emit,
    retire,
    spec_to_dict,
    start_ready_instances,
    wait_drained,
)
from kargo.runtime.state import (
    InstanceRecord,
    InstanceState,
    RuntimePaths,
    RuntimeState,
    Track,
    load_state,
    locked_state,
)
from kargo.runtime.targets import write_targets

MAX_WEIGHT = 256


class CanaryError(Exception):
    """The stage has no canary to act on."""


async def _quiet(_: str) -> None:
    return None


def traffic_weights(stable: int, canary: int, percent: int) -> tuple[int, int]:
    """Per-server weights (stable, canary) that give the canary servers `percent` of requests."""
    if canary == 0:
        return 1, 0
    if stable == 0 or percent >= 100:
        return 0, 1
    if percent <= 0:
        return 1, 0
    stable_weight, canary_weight = (100 - percent) * canary, percent * stable
    top = max(stable_weight, canary_weight)
    if top > MAX_WEIGHT:
        stable_weight = max(1, round(stable_weight * MAX_WEIGHT / top))
        canary_weight = max(1, round(canary_weight * MAX_WEIGHT / top))
    common = gcd(stable_weight, canary_weight)
    return stable_weight // common, canary_weight // common


def _apply_weights(paths: RuntimePaths, state: RuntimeState, stage: str, percent: int) -> None:
    serving = [
        instance
        for instance in state.stage_instances(stage)
        if instance.state is InstanceState.SERVING and instance.slot is not None
    ]
    stable = [instance for instance in serving if instance.track is Track.STABLE]
    canary = [instance for instance in serving if instance.track is Track.CANARY]
    live = sum(1 for instance in stable if instance.healthy)  # dead ones were marked by adopting
    stable_weight, canary_weight = traffic_weights(live, len(canary), percent)
    for group, weight in ((stable, stable_weight), (canary, canary_weight)):
        for instance in group:
            assert instance.slot is not None
            routing.set_weight(paths, stage, instance.slot, weight)
            if instance.healthy:  # the state file says it serves: so HAProxy does, too
                routing.ready(paths, stage, instance.slot)
            instance.weight = weight
    state.canary_weights[stage] = percent


async def start_canary(
    state_dir: Path, spec: DeploySpec, percent: int = 0, emit: Emit = _quiet
) -> list[InstanceRecord]:
    """Run spec.freight beside the stable version and give it `percent` of the traffic."""
    paths = RuntimePaths(state_dir)
    wanted = await start_ready_instances(paths, spec, Track.CANARY, emit)
    ids = {instance.id for instance in wanted}
    with locked_state(paths) as state:
        stage = state.stage_instances(spec.stage)
        taken = {instance.slot for instance in stage if instance.slot is not None}
        for instance in stage:
            if instance.id in ids and instance.state is not InstanceState.SERVING:
                slot = next(
                    n for n in range(1, state.routes[spec.stage].slots + 1) if n not in taken
                )
                taken.add(slot)
                routing.route_to(paths, spec.stage, slot, instance.port, weight=0)
                instance.slot, instance.state, instance.weight = slot, InstanceState.SERVING, 0
                instance.track, instance.healthy = Track.CANARY, True
        stale = [i for i in stage if i.track is Track.CANARY and i.id not in ids]
        for instance in stale:
            if instance.slot is not None and instance.state is InstanceState.SERVING:
                routing.drain(paths, spec.stage, instance.slot)
            instance.state = InstanceState.DRAINING
        _apply_weights(paths, state, spec.stage, percent)
        state.canary_specs[spec.stage] = spec_to_dict(spec)
        write_targets(paths, state)
    if stale:
        await wait_drained(paths, spec.stage, stale, spec.drain_timeout)
        await retire(paths, spec.stage, stale, spec.stop_timeout)
    await emit(f"canary: {spec.freight[:12]} takes {percent}% of 127.0.0.1:{spec.port}")
    return wanted


def serves_as_stable(state_dir: Path, spec: DeploySpec) -> bool:
    """Whether spec.freight already is the stage's stable version, with no canary beside it.

    So a canary whose promotion finished before the engine was killed is not run again: its
    instances are stable now, and a new canary of the same freight would have none to shift to.
    """
    instances = load_state(RuntimePaths(state_dir)).stage_instances(spec.stage)
    mine = [
        i
        for i in instances
        if i.freight == spec.freight
        and i.track is Track.STABLE
        and i.state is InstanceState.SERVING
        and is_alive(i.pid, i.pid_start_time)
    ]
    canaries = [i for i in instances if i.track is Track.CANARY]
    return len(mine) >= spec.replicas and not canaries


def set_canary_weight(state_dir: Path, stage: str, percent: int) -> None:
    """Give the stage's canary `percent` of the traffic (Argo Rollouts' setWeight)."""
    paths = RuntimePaths(state_dir)
    with locked_state(paths) as state:
        if not any(i.track is Track.CANARY for i in state.stage_instances(stage)):
            raise CanaryError(f"stage {stage} has no canary")
        _apply_weights(paths, state, stage, percent)


async def _finish(
    state_dir: Path, stage: str, keep: Track, drain_timeout: float, stop_timeout: float
) -> list[InstanceRecord]:
    paths = RuntimePaths(state_dir)
    with locked_state(paths) as state:
        instances = state.stage_instances(stage)
        if not any(i.track is Track.CANARY for i in instances):
            raise CanaryError(f"stage {stage} has no canary")
        old = [i for i in instances if i.track is not keep]
        for instance in old:
            if instance.slot is not None and instance.state is InstanceState.SERVING:
                routing.drain(paths, stage, instance.slot)
            instance.state = InstanceState.DRAINING
        for instance in instances:
            if instance.track is keep and instance.slot is not None:
                routing.set_weight(paths, stage, instance.slot, 1)
                instance.track, instance.weight = Track.STABLE, 1
        state.canary_weights.pop(stage, None)
        canary_spec = state.canary_specs.pop(stage, None)
        if keep is Track.CANARY and canary_spec is not None:
            state.deployed[stage] = canary_spec
        write_targets(paths, state)
    await wait_drained(paths, stage, old, drain_timeout)
    await retire(paths, stage, old, stop_timeout)
    with locked_state(paths) as state:
        return state.stage_instances(stage)


async def promote_canary(
    state_dir: Path, stage: str, drain_timeout: float = 3.0, stop_timeout: float = 10.0
) -> list[InstanceRecord]:
    """Make the canary the stable version; drain and stop the old stable instances."""
    return await _finish(state_dir, stage, Track.CANARY, drain_timeout, stop_timeout)


async def abort_canary(
    state_dir: Path, stage: str, drain_timeout: float = 3.0, stop_timeout: float = 10.0
) -> list[InstanceRecord]:
    """Give the stable version all traffic back; drain and stop the canary."""
    return await _finish(state_dir, stage, Track.STABLE, drain_timeout, stop_timeout)
