"""The `fail` step: end the promotion as Failed with a message (Kargo's `fail`)."""

from __future__ import annotations

from kargo.model.base import StrictModel
from kargo.steps.base import Step, StepContext, StepPhase, StepResult, register_step


class FailConfig(StrictModel):
    """Why the promotion fails."""

    message: str = "the promotion was failed on purpose"


@register_step
class FailStep(Step[FailConfig]):
    """Always fails the promotion."""

    kind = "fail"
    config_model = FailConfig

    async def run(self, ctx: StepContext, config: FailConfig) -> StepResult:
        """Fail with the configured message."""
        return StepResult(StepPhase.FAILED, config.message)


class NoopConfig(StrictModel):
    """No settings."""


@register_step
class NoopStep(Step[NoopConfig]):
    """Does nothing and succeeds: measures engine overhead and stands in during dry runs."""

    kind = "noop"
    config_model = NoopConfig

    async def run(self, ctx: StepContext, config: NoopConfig) -> StepResult:
        """Succeed at once."""
        return StepResult(StepPhase.SUCCEEDED)
