"""Stage: a place freight is promoted to, with its promotion steps and verification."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kargo.model.base import Resource, StrictModel
from kargo.model.common import Condition, ExpressionVar, FreightOrigin
from kargo.model.durations import parse_duration

HOLD_ANNOTATION = "kargo.akuity.io/auto-promotion-hold"
"""A stage annotation: while present (its value is the reason), auto-promotion skips the stage."""


class AvailabilityStrategy(enum.StrEnum):
    """Whether freight must be verified in one upstream stage or in all of them."""

    ONE_OF = "OneOf"
    ALL = "All"


class SelectionPolicy(enum.StrEnum):
    """Which freight auto-promotion picks: the newest available or the one upstream runs."""

    NEWEST_FREIGHT = "NewestFreight"
    MATCH_UPSTREAM = "MatchUpstream"


class AutoPromotionOptions(StrictModel):
    """Options of auto-promotion for one requested origin."""

    selection_policy: SelectionPolicy = SelectionPolicy.NEWEST_FREIGHT


class FreightSources(StrictModel):
    """Where a stage may take freight from: the warehouse directly or upstream stages."""

    direct: bool = False
    stages: list[str] = Field(default_factory=list)
    required_soak_time: str | None = None
    availability_strategy: AvailabilityStrategy | Literal[""] = ""
    auto_promotion_options: AutoPromotionOptions | None = None

    def needs_all_upstream(self) -> bool:
        """Whether freight must be verified (and soaked) in every upstream stage."""
        return self.availability_strategy == AvailabilityStrategy.ALL

    def selection_policy(self) -> SelectionPolicy:
        """The auto-promotion selection policy (NewestFreight unless set)."""
        options = self.auto_promotion_options
        return options.selection_policy if options else SelectionPolicy.NEWEST_FREIGHT

    @field_validator("required_soak_time")
    @classmethod
    def _valid_soak(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    def soak_seconds(self) -> float:
        """The required soak time upstream, in seconds."""
        return parse_duration(self.required_soak_time or "0").total_seconds()


class FreightRequest(StrictModel):
    """One kind of freight a stage takes, and from where."""

    origin: FreightOrigin
    sources: FreightSources


class StepRetry(StrictModel):
    """How often and how long a step is retried after errors."""

    error_threshold: int = Field(default=1, ge=1)
    timeout: str | None = None


class PromotionTaskReference(StrictModel):
    """A step that runs a PromotionTask's (or a ClusterPromotionTask's) steps."""

    name: str = Field(min_length=1)
    kind: Literal["PromotionTask", "ClusterPromotionTask"] = "PromotionTask"


class PromotionStepSpec(StrictModel):
    """One step of a promotion: a registered step kind with its configuration, or a task."""

    uses: str = Field(default="", min_length=0)
    task: PromotionTaskReference | None = None
    as_: str | None = Field(default=None, alias="as")
    config: dict[str, Any] = Field(default_factory=dict)
    retry: StepRetry | None = None
    continue_on_error: bool = False
    if_: str | None = Field(default=None, alias="if")
    vars: list[ExpressionVar] = Field(default_factory=list)

    @model_validator(mode="after")
    def _uses_or_task(self) -> PromotionStepSpec:
        if bool(self.uses) == (self.task is not None):
            raise ValueError("a step needs exactly one of `uses` or `task`")
        return self

    def alias_at(self, index: int) -> str:
        """The step's alias: `as`, or `step-<index>` as Kargo names it."""
        return self.as_ or f"step-{index}"


class PromotionTemplateSpec(StrictModel):
    """The steps every promotion to the stage runs."""

    vars: list[ExpressionVar] = Field(default_factory=list)
    steps: list[PromotionStepSpec] = Field(default_factory=list)


class PromotionTemplate(StrictModel):
    """Wrapper as in Kargo: `promotionTemplate.spec.steps`."""

    spec: PromotionTemplateSpec


class AnalysisTemplateReference(StrictModel):
    """A reference to an AnalysisTemplate by name."""

    name: str
    kind: Literal["AnalysisTemplate", "ClusterAnalysisTemplate"] = "AnalysisTemplate"


class AnalysisRunArgument(StrictModel):
    """An argument passed to the analysis templates."""

    name: str
    value: str = ""


class Verification(StrictModel):
    """How freight is verified in the stage after a promotion."""

    analysis_templates: list[AnalysisTemplateReference] = Field(default_factory=list)
    args: list[AnalysisRunArgument] = Field(default_factory=list)


class StageSpec(StrictModel):
    """What freight a stage takes, how it is promoted and how it is verified."""

    requested_freight: list[FreightRequest] = Field(min_length=1)
    promotion_template: PromotionTemplate | None = None
    verification: Verification | None = None
    vars: list[ExpressionVar] = Field(default_factory=list)


class HealthState(enum.StrEnum):
    """The health of a stage."""

    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    PROGRESSING = "Progressing"
    UNKNOWN = "Unknown"


class Health(StrictModel):
    """A stage's health and the issues behind it."""

    status: HealthState = HealthState.UNKNOWN
    issues: list[str] = Field(default_factory=list)


class VerificationPhase(enum.StrEnum):
    """The outcome of a stage's verification (as AnalysisRun phases are named)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"
    ABORTED = "Aborted"

    def is_terminal(self) -> bool:
        """Whether the verification has finished."""
        return self not in (VerificationPhase.PENDING, VerificationPhase.RUNNING)


class AnalysisRunReference(StrictModel):
    """Which AnalysisRun verified freight."""

    name: str
    namespace: str = ""
    phase: str = ""


class VerificationInfo(StrictModel):
    """One verification of the stage's current freight."""

    id: str = ""
    actor: str = ""
    phase: VerificationPhase = VerificationPhase.PENDING
    message: str = ""
    analysis_run: AnalysisRunReference | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None


class FreightReference(StrictModel):
    """A freight in a stage's history."""

    name: str
    alias: str = ""
    origin: FreightOrigin | None = None
    commits: list[dict[str, Any]] = Field(default_factory=list)
    promoted_at: datetime | None = None
    promotion: str = ""
    verification_history: list[VerificationInfo] = Field(default_factory=list)


class PromotionReference(StrictModel):
    """A summary of a promotion in the stage's status."""

    name: str
    freight: str = ""
    freight_alias: str = ""
    phase: str = ""
    message: str = ""
    finished_at: datetime | None = None


class StageStatus(StrictModel):
    """Observed state of a stage: current freight, history, health, promotions."""

    freight_history: list[FreightReference] = Field(default_factory=list)
    current_promotion: PromotionReference | None = None
    last_promotion: PromotionReference | None = None
    health: Health | None = None
    conditions: list[Condition] = Field(default_factory=list)
    freight_summary: str = ""
    auto_promotion_enabled: bool | None = None
    observed_generation: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)  # set by the set-metadata step

    @property
    def current_freight(self) -> FreightReference | None:
        """The freight the stage runs now (the head of its history)."""
        return self.freight_history[0] if self.freight_history else None


class Stage(Resource[StageSpec, StageStatus]):
    """A stage of the pipeline (development, production, ...)."""

    kind: Literal["Stage"] = "Stage"
    status: StageStatus = Field(default_factory=StageStatus)

    def upstream_stages(self) -> list[str]:
        """Names of the stages this stage takes freight from."""
        return [s for r in self.spec.requested_freight for s in r.sources.stages]

    def steps(self) -> list[PromotionStepSpec]:
        """The promotion steps of the stage."""
        return self.spec.promotion_template.spec.steps if self.spec.promotion_template else []
