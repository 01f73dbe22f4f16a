"""The runtime's state file: which instances run where, and the router's settings.

Everything the local runtime starts outlives the engine, so what it started is written down in
`<state_dir>/runtime/state.json` (atomically, under an exclusive file lock) before and after each
change. A restarted engine, `make down` and `kargo get stage -o wide` all read this file.
"""

from __future__ import annotations

import enum
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class InstanceState(enum.StrEnum):
    """Where an instance is in its life."""

    STARTING = "Starting"  # launched, not yet receiving traffic
    SERVING = "Serving"  # in the stage's router backend
    DRAINING = "Draining"  # out of the backend, being stopped

    def is_routed(self) -> bool:
        """Whether the router sends (or may still send) traffic to it."""
        return self is InstanceState.SERVING


class Track(enum.StrEnum):
    """Which release track an instance belongs to (canary is for progressive delivery)."""

    STABLE = "stable"
    CANARY = "canary"


@dataclass
class InstanceRecord:
    """One app process the runtime started."""

    id: str
    stage: str
    port: int
    freight: str
    commit: str
    track: Track = Track.STABLE
    state: InstanceState = InstanceState.STARTING
    pid: int | None = None
    pid_start_time: int | None = None
    slot: int | None = None
    weight: int = 1  # HAProxy server weight (0-256); canary shares come from weights
    healthy: bool = True
    log_file: str = ""
    started_at: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstanceRecord:
        """Read a record written by `asdict`."""
        values = dict(data)
        values["track"] = Track(values.get("track", Track.STABLE))
        values["state"] = InstanceState(values.get("state", InstanceState.STARTING))
        return cls(**values)


@dataclass
class StageRoute:
    """A stage's stable address on the router and how the router checks its instances."""

    port: int
    health_path: str = "/healthz"
    slots: int = 8
    affinity: dict[str, Any] | None = None  # {"paths": [{"prefix", "field"}], "responseHeader"}


@dataclass
class RuntimeState:
    """Everything in the state file."""

    stats_port: int | None = None
    router_pid: int | None = None
    routes: dict[str, StageRoute] = field(default_factory=dict)
    instances: list[InstanceRecord] = field(default_factory=list)
    deployed: dict[str, dict[str, Any]] = field(default_factory=dict)  # last good spec by stage
    canary_weights: dict[str, int] = field(default_factory=dict)  # percent of traffic by stage
    canary_specs: dict[str, dict[str, Any]] = field(default_factory=dict)  # running canary's spec

    def stage_instances(self, stage: str) -> list[InstanceRecord]:
        """The instances of one stage."""
        return [instance for instance in self.instances if instance.stage == stage]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "statsPort": self.stats_port,
            "routerPid": self.router_pid,
            "routes": {name: asdict(route) for name, route in self.routes.items()},
            "instances": [asdict(instance) for instance in self.instances],
            "deployed": self.deployed,
            "canaryWeights": self.canary_weights,
            "canarySpecs": self.canary_specs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuntimeState:
        """Read the JSON form."""
        return cls(
            stats_port=data.get("statsPort"),
            router_pid=data.get("routerPid"),
            routes={name: StageRoute(**route) for name, route in data.get("routes", {}).items()},
            instances=[InstanceRecord.from_dict(item) for item in data.get("instances", [])],
            deployed=dict(data.get("deployed", {})),
            canary_weights=dict(data.get("canaryWeights", {})),
            canary_specs=dict(data.get("canarySpecs", {})),
        )


class RuntimePaths:
    """Where the runtime keeps its files inside a state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.root = self.state_dir / "runtime"
        self.state_file = self.root / "state.json"
        self.lock_file = self.root / "state.lock"
        self.targets_file = self.root / "targets.json"
        self.haproxy_config = self.root / "haproxy.cfg"
        self.haproxy_pidfile = self.root / "haproxy.pid"
        self.haproxy_socket = self.root / "haproxy.sock"
        self.logs = self.root / "logs"
        self.envs = self.state_dir / "envs"

    def instance_log(self, stage: str, instance_id: str) -> Path:
        """The log file of one instance."""
        return self.logs / stage / f"{instance_id}.log"


def load_state(paths: RuntimePaths) -> RuntimeState:
    """The current state, or an empty one when nothing was started yet."""
    try:
        text = paths.state_file.read_text()
    except FileNotFoundError:
        return RuntimeState()
    return RuntimeState.from_dict(json.loads(text))


def save_state(paths: RuntimePaths, state: RuntimeState) -> None:
    """Write the state atomically (a crash leaves the old or the new file, never half of one)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    temporary = paths.state_file.with_suffix(f".tmp-{os.getpid()}")
    temporary.write_text(json.dumps(state.to_dict(), indent=2, sort_keys=True))
    os.replace(temporary, paths.state_file)


@contextmanager
def locked_state(paths: RuntimePaths) -> Iterator[RuntimeState]:
    """Read, let the caller change, and write back the state under an exclusive lock."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.lock_file, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = load_state(paths)
            yield state
            save_state(paths, state)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
