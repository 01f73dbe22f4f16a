"""Project and ProjectConfig: the namespace of a pipeline and its promotion policies."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kargo.model.base import EmptyStatus, Resource, StrictModel
from kargo.model.common import Condition
from kargo.model.selectors import LabelSelector, check_name_pattern, name_matches


class ProjectPhase(enum.StrEnum):
    """Lifecycle of a project."""

    INITIALIZING = "Initializing"
    READY = "Ready"

    def is_terminal(self) -> bool:
        """Whether the project is settled."""
        return self is ProjectPhase.READY


class ProjectSpec(StrictModel):
    """A project has no settings of its own (Kargo v1.11 moved them to ProjectConfig)."""


class ProjectStatus(StrictModel):
    """Observed state of a project."""

    phase: ProjectPhase | None = None
    conditions: list[Condition] = Field(default_factory=list)


class Project(Resource[ProjectSpec, ProjectStatus]):
    """A Kargo project: a namespace holding one pipeline."""

    kind: Literal["Project"] = "Project"
    spec: ProjectSpec = Field(default_factory=ProjectSpec)
    status: ProjectStatus = Field(default_factory=ProjectStatus)


class StageSelector(LabelSelector):
    """Selects stages by name (exact, `glob:`, `regex:`) ANDed with a label selector."""

    name: str | None = None

    @field_validator("name")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value:
            check_name_pattern(value)
        return value

    def matches(self, stage_name: str, labels: dict[str, str]) -> bool:
        """Whether a stage with this name and these labels is selected."""
        if self.name and not name_matches(self.name, stage_name):
            return False
        return self.matches_labels(labels)


class VerificationOutcome(enum.StrEnum):
    """Verification phases that can trigger an automatic rollback."""

    FAILED = "Failed"
    ERROR = "Error"


class PromotionOutcome(enum.StrEnum):
    """Promotion phases that can trigger an automatic rollback."""

    FAILED = "Failed"
    ERRORED = "Errored"


class AutoRollback(StrictModel):
    """When to roll a stage back to its last known-good freight automatically.

    As in Kargo: `onVerification` absent or empty means `[Failed]`, `onPromotion` means `[]`.
    `enabled: false` (this engine's own switch) keeps the policy written but inactive.
    """

    enabled: bool = True
    on_verification: list[VerificationOutcome] = Field(
        default_factory=lambda: [VerificationOutcome.FAILED], max_length=2
    )
    on_promotion: list[PromotionOutcome] = Field(default_factory=list, max_length=2)

    @field_validator("on_verification")
    @classmethod
    def _failed_when_empty(cls, value: list[VerificationOutcome]) -> list[VerificationOutcome]:
        return value or [VerificationOutcome.FAILED]


class PromotionPolicy(StrictModel):
    """How promotions to the selected stages happen."""

    stage: str | None = None
    stage_selector: StageSelector | None = None
    auto_promotion_enabled: bool = False
    auto_rollback: AutoRollback | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> PromotionPolicy:
        if (self.stage is None) == (self.stage_selector is None):
            raise ValueError("a promotion policy needs exactly one of `stage` or `stageSelector`")
        return self

    def selects(self, stage_name: str, labels: dict[str, str]) -> bool:
        """Whether this policy applies to the stage."""
        if self.stage is not None:
            return self.stage == stage_name
        assert self.stage_selector is not None
        return self.stage_selector.matches(stage_name, labels)


class ProjectConfigSpec(StrictModel):
    """Project-wide settings: promotion policies."""

    promotion_policies: list[PromotionPolicy] = Field(default_factory=list)

    def policy_for(self, stage_name: str, labels: dict[str, str]) -> PromotionPolicy | None:
        """The first policy that selects the stage, if any."""
        for policy in self.promotion_policies:
            if policy.selects(stage_name, labels):
                return policy
        return None


class ProjectConfig(Resource[ProjectConfigSpec, EmptyStatus]):
    """A project's configuration (Kargo names it after the project)."""

    kind: Literal["ProjectConfig"] = "ProjectConfig"
    spec: ProjectConfigSpec = Field(default_factory=ProjectConfigSpec)
    status: EmptyStatus = Field(default_factory=EmptyStatus)
