"""Blue/green deployment of a stage: start the new instances, switch the router, stop the old ones.

Every change is written to the state file before the next one is made, so a deploy interrupted at
any point (engine SIGKILL) converges when it runs again: instances of the wanted freight that are
alive are adopted, half-started ones are found by their environment marker, and whatever else the
stage still runs is drained and stopped once the wanted freight serves.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kargo.childenv import child_env
from kargo.liveness import is_alive
from kargo.runtime import routing
from kargo.runtime.processes import (
    MARKER_INSTANCE,
    MARKER_STATE,
    ProcessStartError,
    find_marked,
    free_port,
    spawn,
    stop_process,
    stop_process_blocking,
)
from kargo.runtime.state import (
    InstanceRecord,
    InstanceState,
    RuntimePaths,
    RuntimeState,
    StageRoute,
    Track,
    locked_state,
)
from kargo.runtime.substitution import expand, stage_secret
from kargo.runtime.targets import write_targets
from kargo.runtime.users import StageUser, prepare_stage, resolve_user, user_options
from kargo.tls import client_tls

Emit = Callable[[str], Awaitable[None]]


class InstancesNotReady(Exception):
    """The new version did not become ready: the change is bad, nothing was switched."""


@dataclass
class DeploySpec:
    """What to run for a stage, with `${NAME}` placeholders still in argv and env."""

    stage: str
    freight: str
    commit: str
    port: int
    replicas: int
    argv: list[str]
    env: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)
    env_dir: Path | None = None
    cwd: Path | None = None
    init_argv: list[str] = field(default_factory=list)
    readiness_path: str = "/readyz"
    health_path: str = "/healthz"
    readiness_timeout: float = 60.0
    drain_timeout: float = 3.0
    stop_timeout: float = 10.0
    affinity: dict[str, Any] | None = None  # sticky routing by a key (see haproxy_config)
    run_as: str | None = None  # the OS user (name or uid) its processes run as; None: the engine's
    run_as_group: str | None = None  # default: the user's primary group


def spec_to_dict(spec: DeploySpec) -> dict[str, Any]:
    """The JSON form of a spec (kept in the state file to restore the stage later)."""
    data = asdict(spec)
    for key in ("env_dir", "cwd"):
        data[key] = str(data[key]) if data[key] is not None else None
    return data


def spec_from_dict(data: dict[str, Any]) -> DeploySpec:
    """Read the JSON form of a spec."""
    values = dict(data)
    for key in ("env_dir", "cwd"):
        values[key] = Path(values[key]) if values.get(key) else None
    return DeploySpec(**values)


async def _quiet(_: str) -> None:
    return None


def reconcile_processes(paths: RuntimePaths, state: RuntimeState) -> list[tuple[int, int]]:
    """Adopt half-recorded instances, forget vanished ones; return orphans (pid, start) to stop."""
    marked = {process.instance_id: process for process in find_marked(paths.state_dir)}
    known = {instance.id for instance in state.instances}
    for instance in list(state.instances):
        if instance.pid is None and instance.id in marked:
            instance.pid = marked[instance.id].pid
            instance.pid_start_time = marked[instance.id].start_time
        if not is_alive(instance.pid, instance.pid_start_time):
            if instance.state is InstanceState.SERVING:
                instance.healthy = False
            else:
                state.instances.remove(instance)
    return [(p.pid, p.start_time) for i, p in marked.items() if i not in known]


def stage_dir(paths: RuntimePaths, stage: str) -> Path:
    """The stage's own data folder (the default working folder of its instances)."""
    return paths.state_dir / "stages" / stage


def publish_source(state_dir: Path, stage: str, source: Path) -> Path:
    """Point `<state_dir>/stages/<stage>/source` at the checkout the stage now runs (atomically)."""
    link = stage_dir(RuntimePaths(state_dir), stage) / "source"
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".source-{uuid.uuid4().hex[:8]}")
    temporary.symlink_to(source.resolve(), target_is_directory=True)
    os.replace(temporary, link)
    return link


def _variables(spec: DeploySpec, instance: InstanceRecord, paths: RuntimePaths) -> dict[str, str]:
    return {
        "STAGE_DIR": str(stage_dir(paths, spec.stage)),
        **spec.variables,
        "PORT": str(instance.port),
        "INSTANCE": instance.id,
    }


def _functions(spec: DeploySpec, paths: RuntimePaths) -> dict[str, Callable[[str], str]]:
    secrets = stage_dir(paths, spec.stage) / "secrets"
    return {"SECRET": lambda name: stage_secret(secrets, name)}


def _instance_env(
    spec: DeploySpec, instance: InstanceRecord, paths: RuntimePaths, user: StageUser | None = None
) -> dict[str, str]:
    variables = _variables(spec, instance, paths)
    env = child_env(user.env() if user else None)
    path = env["PATH"]
    if spec.env_dir is not None:
        env["VIRTUAL_ENV"] = str(spec.env_dir)
        path = f"{spec.env_dir / 'bin'}:{path}"
    env["PATH"] = path
    functions = _functions(spec, paths)
    env.update({key: expand(value, variables, functions) for key, value in spec.env.items()})
    env[MARKER_STATE] = str(paths.state_dir)
    env[MARKER_INSTANCE] = instance.id
    return env


def _argv(
    spec: DeploySpec, instance: InstanceRecord, paths: RuntimePaths, template: list[str]
) -> list[str]:
    variables = _variables(spec, instance, paths)
    argv = [expand(part, variables, _functions(spec, paths)) for part in template]
    if spec.env_dir is not None and "/" not in argv[0]:
        candidate = spec.env_dir / "bin" / argv[0]
        if candidate.exists():
            argv[0] = str(candidate)
    return argv


def plan_instances(
    paths: RuntimePaths, spec: DeploySpec, track: Track = Track.STABLE
) -> list[InstanceRecord]:
    """Adopt what runs, record the instances still to start; return the wanted freight's ones."""
    orphans: list[tuple[int, int]] = []
    with locked_state(paths) as state:
        route = StageRoute(spec.port, spec.health_path, affinity=spec.affinity)
        routing.ensure_route(paths, state, spec.stage, route)
        orphans = reconcile_processes(paths, state)
        wanted = [
            instance
            for instance in state.stage_instances(spec.stage)
            if instance.freight == spec.freight
            and instance.state is not InstanceState.DRAINING
            and (instance.pid is None or instance.healthy)
        ][: spec.replicas]
        used = {instance.port for instance in state.instances} | {spec.port}
        while len(wanted) < spec.replicas:
            port = free_port(exclude=used)
            used.add(port)
            instance_id = f"{spec.stage}-{spec.freight[:12]}-{uuid.uuid4().hex[:6]}"
            record = InstanceRecord(
                id=instance_id,
                stage=spec.stage,
                port=port,
                freight=spec.freight,
                commit=spec.commit,
                track=track,
                log_file=str(paths.instance_log(spec.stage, instance_id)),
                started_at=time.time(),
            )
            state.instances.append(record)
            wanted.append(record)
    for pid, start in orphans:
        stop_process_blocking(pid, start, spec.stop_timeout)
    return wanted


def stage_user(paths: RuntimePaths, spec: DeploySpec) -> StageUser | None:
    """The user the stage's processes run as (its folder and environment made ready), or None."""
    if spec.run_as is None:
        return None
    user = resolve_user(spec.run_as, spec.run_as_group)
    prepare_stage(paths.state_dir, stage_dir(paths, spec.stage), spec.env_dir, user)
    return user


def _start_missing(
    paths: RuntimePaths,
    spec: DeploySpec,
    wanted: list[InstanceRecord],
    user: StageUser | None = None,
) -> None:
    for instance in wanted:
        if instance.pid is not None:
            continue
        pid, start = spawn(
            _argv(spec, instance, paths, spec.argv),
            _instance_env(spec, instance, paths, user),
            Path(instance.log_file),
            cwd=spec.cwd or stage_dir(paths, spec.stage),
            options=user_options(user),
        )
        instance.pid, instance.pid_start_time = pid, start
        with locked_state(paths) as state:
            for record in state.instances:
                if record.id == instance.id:
                    record.pid, record.pid_start_time = pid, start


def _unmarked(env: dict[str, str]) -> dict[str, str]:
    """The environment without the instance markers: an init process is not an instance."""
    return {k: v for k, v in env.items() if k not in (MARKER_STATE, MARKER_INSTANCE)}


async def run_init(
    paths: RuntimePaths, spec: DeploySpec, first: InstanceRecord, user: StageUser | None = None
) -> None:
    """Run the one-off init command (e.g. database migrations) before any instance starts."""
    if not spec.init_argv:
        return
    cwd = spec.cwd or stage_dir(paths, spec.stage)
    cwd.mkdir(parents=True, exist_ok=True)
    try:
        process = await asyncio.create_subprocess_exec(
            *_argv(spec, first, paths, spec.init_argv),
            env=_unmarked(_instance_env(spec, first, paths, user)),
            cwd=cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            **user_options(user),
        )
        output, _ = await asyncio.wait_for(process.communicate(), spec.readiness_timeout)
    except (OSError, TimeoutError) as exc:
        raise InstancesNotReady(f"init command {spec.init_argv[0]} did not run: {exc!r}") from exc
    if process.returncode != 0:
        text = output.decode(errors="replace").strip()
        raise InstancesNotReady(f"init command failed ({process.returncode}):\n{text}")


def log_tail(instance: InstanceRecord, lines: int = 15) -> str:
    """The last lines an instance wrote, for error messages."""
    try:
        text = Path(instance.log_file).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


async def wait_ready(spec: DeploySpec, instances: list[InstanceRecord]) -> None:
    """Wait until every instance answers 200 on its readiness path, or raise InstancesNotReady."""
    deadline = time.monotonic() + spec.readiness_timeout
    pending = list(instances)
    async with httpx.AsyncClient(timeout=1.0, verify=client_tls()) as client:
        while pending:
            for instance in list(pending):
                if not is_alive(instance.pid, instance.pid_start_time):
                    raise InstancesNotReady(
                        f"instance {instance.id} exited before it became ready:\n"
                        + log_tail(instance)
                    )
                url = f"http://127.0.0.1:{instance.port}{spec.readiness_path}"
                try:
                    response = await client.get(url)
                except httpx.HTTPError:
                    continue
                if response.status_code == 200:
                    pending.remove(instance)
            if pending and time.monotonic() > deadline:
                raise InstancesNotReady(
                    f"instance {pending[0].id} not ready on {spec.readiness_path} after "
                    f"{spec.readiness_timeout:.0f}s:\n" + log_tail(pending[0])
                )
            if pending:
                await asyncio.sleep(0.05)


def _switch(paths: RuntimePaths, spec: DeploySpec, wanted_ids: set[str]) -> list[InstanceRecord]:
    """Route the new instances in, drain the old ones; return the old ones."""
    with locked_state(paths) as state:
        stage = state.stage_instances(spec.stage)
        taken = {instance.slot for instance in stage if instance.slot is not None}
        for instance in stage:
            if instance.id in wanted_ids and instance.state is not InstanceState.SERVING:
                slot = next(
                    n for n in range(1, state.routes[spec.stage].slots + 1) if n not in taken
                )
                taken.add(slot)
                routing.route_to(paths, spec.stage, slot, instance.port)
                instance.slot, instance.state, instance.healthy = slot, InstanceState.SERVING, True
            elif instance.id in wanted_ids and instance.slot is not None:
                routing.set_weight(paths, spec.stage, instance.slot, 1)  # a promoted canary
            if instance.id in wanted_ids:
                instance.track, instance.weight = Track.STABLE, 1
        state.canary_weights.pop(spec.stage, None)
        state.canary_specs.pop(spec.stage, None)
        old = [instance for instance in stage if instance.id not in wanted_ids]
        for instance in old:
            if instance.slot is not None and instance.state is InstanceState.SERVING:
                routing.drain(paths, spec.stage, instance.slot)
            instance.state = InstanceState.DRAINING
        write_targets(paths, state)
    return old


def exited(instances: list[InstanceRecord]) -> list[InstanceRecord]:
    """The instances whose process is gone."""
    return [i for i in instances if not is_alive(i.pid, i.pid_start_time)]


def _switch_back(
    paths: RuntimePaths, stage: str, old: list[InstanceRecord], dead: list[InstanceRecord]
) -> list[InstanceRecord]:
    """Route the drained old instances that still run back in, take the dead new ones out."""
    alive = {i.id for i in old if is_alive(i.pid, i.pid_start_time) and i.slot is not None}
    gone = {i.id for i in dead}
    back = []
    with locked_state(paths) as state:
        for instance in state.stage_instances(stage):
            if instance.id in alive and instance.slot is not None:
                routing.route_to(paths, stage, instance.slot, instance.port)
                instance.state, instance.healthy = InstanceState.SERVING, True
                back.append(instance)
            elif instance.id in gone:
                instance.state, instance.healthy = InstanceState.DRAINING, False
        write_targets(paths, state)
    return back


async def wait_drained(
    paths: RuntimePaths, stage: str, old: list[InstanceRecord], timeout: float
) -> None:
    """Give open requests on the old instances up to `timeout` seconds to finish."""
    slots = {instance.slot for instance in old if instance.slot is not None}
    deadline = time.monotonic() + timeout
    while slots and time.monotonic() < deadline:
        stats = routing.slot_stats(paths, stage)
        if all(stats.get(slot, {}).get("scur", "0") == "0" for slot in slots):
            return
        await asyncio.sleep(0.1)


async def retire(
    paths: RuntimePaths, stage: str, old: list[InstanceRecord], stop_timeout: float
) -> None:
    """Take the old instances out of the router, stop them and forget them."""
    for instance in old:
        if instance.slot is not None:
            routing.disable(paths, stage, instance.slot)
    await asyncio.gather(
        *(
            stop_process(instance.pid, instance.pid_start_time, stop_timeout)
            for instance in old
            if instance.pid is not None
        )
    )
    gone = {instance.id for instance in old}
    with locked_state(paths) as state:
        state.instances = [i for i in state.instances if i.id not in gone]
        write_targets(paths, state)


async def _discard(paths: RuntimePaths, spec: DeploySpec, instances: list[InstanceRecord]) -> None:
    """Stop new instances that never received traffic."""
    unrouted = [i for i in instances if i.state is not InstanceState.SERVING]
    await retire(paths, spec.stage, unrouted, spec.stop_timeout)


async def start_ready_instances(
    paths: RuntimePaths, spec: DeploySpec, track: Track, emit: Emit
) -> list[InstanceRecord]:
    """Start (or adopt) spec.replicas instances of spec.freight and wait until they are ready."""
    wanted = plan_instances(paths, spec, track)
    stage_dir(paths, spec.stage).mkdir(parents=True, exist_ok=True)
    try:
        user = stage_user(paths, spec)
    except ProcessStartError:
        await _discard(paths, spec, wanted)
        raise
    if any(instance.pid is None for instance in wanted):
        try:
            await run_init(paths, spec, wanted[0], user)
        except InstancesNotReady:
            await _discard(paths, spec, wanted)
            raise
    _start_missing(paths, spec, wanted, user)
    await emit(
        f"deploy: {len(wanted)} {track} instance(s) of {spec.freight[:12]} on ports "
        + ", ".join(str(instance.port) for instance in wanted)
    )
    try:
        await wait_ready(spec, wanted)
    except InstancesNotReady:
        await _discard(paths, spec, wanted)
        raise
    return wanted


async def deploy_blue_green(
    state_dir: Path, spec: DeploySpec, emit: Emit = _quiet
) -> list[InstanceRecord]:
    """Make the stage serve spec.freight from spec.replicas new instances; stop everything else."""
    paths = RuntimePaths(state_dir)
    wanted = await start_ready_instances(paths, spec, Track.STABLE, emit)
    await emit(f"deploy: ready on {spec.readiness_path}; switching 127.0.0.1:{spec.port}")
    old = _switch(paths, spec, {instance.id for instance in wanted})
    if old:
        await emit(f"deploy: draining {len(old)} old instance(s)")
        await wait_drained(paths, spec.stage, old, spec.drain_timeout)
        if dead := exited(wanted):
            back = _switch_back(paths, spec.stage, old, dead)
            await retire(paths, spec.stage, dead, spec.stop_timeout)
            raise InstancesNotReady(
                f"instance {dead[0].id} exited during the switch; "
                + ("the previous instances serve again" if back else "nothing else could serve")
                + ":\n"
                + log_tail(dead[0])
            )
        await retire(paths, spec.stage, old, spec.stop_timeout)
    if dead := exited(wanted):
        message = f"instance {dead[0].id} exited after the switch:\n"
        raise InstancesNotReady(message + log_tail(dead[0]))
    await emit(f"deploy: stage {spec.stage} serves {spec.freight[:12]} on 127.0.0.1:{spec.port}")
    with locked_state(paths) as state:
        state.deployed[spec.stage] = spec_to_dict(spec)
        return state.stage_instances(spec.stage)
