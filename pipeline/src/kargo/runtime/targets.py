"""The Prometheus file_sd targets file: every app instance and HAProxy's exporter, labelled.

Prometheus reads `<state_dir>/runtime/targets.json` (see deploy/local/prometheus.yml). Instances are
labelled with `stage`, `freight`, `track` (stable/canary) and `component="app"`; the router's
exporter with `component="router"`. The file is replaced atomically after every change.
"""

from __future__ import annotations

import json
import os
from typing import Any

from kargo.runtime.state import InstanceState, RuntimePaths, RuntimeState


def render_targets(state: RuntimeState) -> list[dict[str, Any]]:
    """The file_sd groups for the current state."""
    groups: list[dict[str, Any]] = []
    for instance in sorted(state.instances, key=lambda item: (item.stage, item.port)):
        if instance.state is InstanceState.DRAINING or instance.pid is None:
            continue
        groups.append(
            {
                "targets": [f"127.0.0.1:{instance.port}"],
                "labels": {
                    "component": "app",
                    "stage": instance.stage,
                    "freight": instance.freight,
                    "track": str(instance.track),
                    "commit": instance.commit,
                    "runtime_instance": instance.id,
                },
            }
        )
    if state.stats_port is not None and state.routes:
        groups.append(
            {
                "targets": [f"127.0.0.1:{state.stats_port}"],
                "labels": {"component": "router"},
            }
        )
    return groups


def write_targets(paths: RuntimePaths, state: RuntimeState) -> None:
    """Replace the targets file with the current state's targets."""
    paths.root.mkdir(parents=True, exist_ok=True)
    temporary = paths.targets_file.with_suffix(f".tmp-{os.getpid()}")
    temporary.write_text(json.dumps(render_targets(state), indent=2))
    os.replace(temporary, paths.targets_file)
