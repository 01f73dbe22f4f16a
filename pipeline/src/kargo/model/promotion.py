"""Promotion: one request to move freight into a stage, and the record of its steps."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from kargo.model.base import Resource, StrictModel
from kargo.model.common import ExpressionVar, FreightOrigin
from kargo.model.stage import PromotionStepSpec

ACTOR_ANNOTATION = "kargo.akuity.io/create-actor"
"""The annotation naming who asked for a promotion (`admin`, `kargo:auto-promotion`...)."""
ROLLBACK_ANNOTATION = "kargo.akuity.io/rollback"
"""The annotation marking a promotion as a rollback; its value says why."""
ABORT_ANNOTATION = "kargo.akuity.io/abort"
"""The annotation asking the engine to abort a promotion."""


class PromotionPhase(enum.StrEnum):
    """The phase of a promotion; Failed means the change was bad, Errored that something broke."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERRORED = "Errored"
    ABORTED = "Aborted"

    def is_terminal(self) -> bool:
        """Whether the promotion has finished."""
        return self not in (PromotionPhase.PENDING, PromotionPhase.RUNNING)


class StepExecutionPhase(enum.StrEnum):
    """The phase of one step of a promotion."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERRORED = "Errored"
    SKIPPED = "Skipped"
    ABORTED = "Aborted"

    def is_terminal(self) -> bool:
        """Whether the step has finished."""
        return self not in (StepExecutionPhase.PENDING, StepExecutionPhase.RUNNING)


class PromotionSpec(StrictModel):
    """Which freight goes to which stage, through which steps."""

    stage: str
    freight: str
    origin: FreightOrigin | None = None
    steps: list[PromotionStepSpec] = Field(default_factory=list)
    vars: list[ExpressionVar] = Field(default_factory=list)


class StepExecution(StrictModel):
    """Progress of one step: persisted so a restarted engine can resume it."""

    alias: str
    uses: str = ""
    status: StepExecutionPhase = StepExecutionPhase.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_count: int = 0
    attempts: int = 0
    message: str = ""
    continue_on_error: bool = False


class PromotedFreight(StrictModel):
    """The freight a promotion carries, as recorded on the promotion."""

    name: str
    alias: str = ""
    origin: FreightOrigin | None = None
    commits: list[dict[str, Any]] = Field(default_factory=list)


class PromotionStatus(StrictModel):
    """Observed state of a promotion."""

    phase: PromotionPhase = PromotionPhase.PENDING
    message: str = ""
    current_step: int = 0
    step_execution_metadata: list[StepExecution] = Field(default_factory=list)
    state: dict[str, Any] = Field(default_factory=dict)
    freight: PromotedFreight | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Promotion(Resource[PromotionSpec, PromotionStatus]):
    """A promotion of freight into a stage."""

    kind: Literal["Promotion"] = "Promotion"
    status: PromotionStatus = Field(default_factory=PromotionStatus)

    @property
    def actor(self) -> str:
        """Who asked for the promotion."""
        return self.metadata.annotations.get(ACTOR_ANNOTATION, "")

    @property
    def phase(self) -> PromotionPhase:
        """The promotion's phase."""
        return self.status.phase

    @property
    def is_rollback(self) -> bool:
        """Whether the promotion rolls its stage back (it carries the rollback annotation)."""
        return ROLLBACK_ANNOTATION in self.metadata.annotations
