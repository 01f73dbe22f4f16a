"""How a step reports a bad change (the promotion fails) or a technical fault (it errors).

Kargo tells the two apart: a `TerminalError` fails the promotion, any other error leaves the step
Errored (retried up to its `errorThreshold`). Steps raise `StepFailed` or `StepErrored` with a
message that names the step and the field, and `outcome` turns them into a `StepResult`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Generic

from kargo.steps.base import ConfigT, Step, StepContext, StepPhase, StepResult


class StepProblem(Exception):
    """A step could not finish; `phase` says whether the change or the machinery is at fault."""

    phase = StepPhase.ERRORED

    def __init__(self, kind: str, message: str, field: str = "") -> None:
        where = f"{kind}: config.{field}: " if field else f"{kind}: "
        super().__init__(where + message)
        self.kind = kind
        self.field = field


class StepFailed(StepProblem):
    """The change is wrong (bad path, merge conflict, tag exists): the promotion fails."""

    phase = StepPhase.FAILED


class StepErrored(StepProblem):
    """Something technical broke (missing file, unreachable remote): the promotion errors."""

    phase = StepPhase.ERRORED


async def outcome(work: Awaitable[StepResult]) -> StepResult:
    """The step's result, or the Failed/Errored result its problem stands for."""
    try:
        return await work
    except StepProblem as problem:
        return StepResult(problem.phase, str(problem))


class CheckedStep(Step[ConfigT], Generic[ConfigT]):
    """A step whose `execute` raises StepFailed/StepErrored; `run` turns them into results."""

    async def run(self, ctx: StepContext, config: ConfigT) -> StepResult:
        """Run `execute`, reporting a raised problem as the step's outcome."""
        return await outcome(self.execute(ctx, config))

    async def execute(self, ctx: StepContext, config: ConfigT) -> StepResult:
        """Do the step's work (raise StepFailed or StepErrored when it cannot)."""
        raise NotImplementedError
