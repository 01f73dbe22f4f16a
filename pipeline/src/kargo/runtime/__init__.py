"""The local runtime: app instances as processes behind HAProxy, and its promotion steps.

Importing this package registers the step kinds `git-clone`, `build-venv` and `deploy`.
"""

from __future__ import annotations

from kargo.runtime import steps
from kargo.runtime.canarying import (
    CanaryError,
    abort_canary,
    promote_canary,
    set_canary_weight,
    start_canary,
)
from kargo.runtime.healing import redeploy, restart_router
from kargo.runtime.inspecting import (
    RouterInfo,
    abandon_deploy,
    adopt,
    describe_router,
    describe_stage,
    stop_all,
)
from kargo.runtime.restoring import restore, stages_to_restore

__all__ = [
    "CanaryError",
    "abort_canary",
    "promote_canary",
    "set_canary_weight",
    "start_canary",
    "RouterInfo",
    "abandon_deploy",
    "adopt",
    "describe_router",
    "describe_stage",
    "redeploy",
    "restart_router",
    "restore",
    "stages_to_restore",
    "steps",
    "stop_all",
]
