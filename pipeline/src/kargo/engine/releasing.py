"""Release what an unfinished deploy left on the local runtime when its promotion gives up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kargo import runtime
from kargo.model.promotion import Promotion, StepExecutionPhase

log = logging.getLogger(__name__)

DEPLOY_STEP = "deploy"
_UNFINISHED = {
    StepExecutionPhase.RUNNING,
    StepExecutionPhase.FAILED,
    StepExecutionPhase.ERRORED,
    StepExecutionPhase.ABORTED,
}


def unfinished_deploy(promotion: Promotion) -> dict[str, Any] | None:
    """The config of the promotion's deploy step that did not succeed, if any."""
    steps = promotion.spec.steps
    for step, meta in zip(steps, promotion.status.step_execution_metadata, strict=False):
        if step.uses == DEPLOY_STEP and meta.status in _UNFINISHED:
            return dict(step.config or {})
    return None


async def release_deploy(state_dir: Path, promotion: Promotion) -> str | None:
    """Stop the instances (or the canary) an aborted or failed deploy started; say what happened."""
    config = unfinished_deploy(promotion)
    if config is None:
        return None
    stage = promotion.spec.stage
    strategy = config.get("strategy") or {}
    try:
        if isinstance(strategy, dict) and "canary" in strategy:
            try:
                await runtime.abort_canary(state_dir, stage)
            except runtime.CanaryError:
                pass  # the canary never started, or the step already gave stable its traffic
        stopped = runtime.abandon_deploy(state_dir, stage)
    except Exception as exc:  # a runtime failure here must not keep the promotion Running
        log.warning("could not release the deploy of stage %s: %s", stage, exc)
        return f"could not stop the unfinished deploy's instances: {exc}"
    return f"stopped {stopped} instance(s) of the unfinished deploy" if stopped else None
