"""Project and ProjectConfig: the namespace of a pipeline and its promotion policies."""

from __future__ import annotations

import enum
import fnmatch
from typing import Literal

from pydantic import Field, model_validator

from kargo.model.base import EmptyStatus, Resource, StrictModel
from kargo.model.common import Condition


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


class StageSelector(StrictModel):
    """Selects stages by name (exact, glob `dev*`, or `regex:`-less glob) and labels."""

    name: str | None = None
    match_labels: dict[str, str] = Field(default_factory=dict)

    def matches(self, stage_name: str, labels: dict[str, str]) -> bool:
        """Whether a stage with this name and these labels is selected."""
        if self.name is not None and not fnmatch.fnmatchcase(stage_name, self.name):
            return False
        return all(labels.get(k) == v for k, v in self.match_labels.items())


class VerificationOutcome(enum.StrEnum):
    """Verification phases that can trigger an automatic rollback."""

    FAILED = "Failed"
    ERROR = "Error"


class PromotionOutcome(enum.StrEnum):
    """Promotion phases that can trigger an automatic rollback."""

    FAILED = "Failed"
    ERRORED = "Errored"


class AutoRollback(StrictModel):
    """When to roll a stage back to its last stable freight automatically."""

    enabled: bool = True
    on_verification: list[VerificationOutcome] = Field(
        default_factory=lambda: [VerificationOutcome.FAILED, VerificationOutcome.ERROR]
    )
    on_promotion: list[PromotionOutcome] = Field(default_factory=list)


class PromotionPolicy(StrictModel):
    """How promotions to the selected stages happen."""

    stage: str | None = None
    stage_selector: StageSelector | None = None
    auto_promotion_enabled: bool = False
    auto_rollback: AutoRollback | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> PromotionPolicy:
        if self.stage is None and self.stage_selector is None:
            raise ValueError("a promotion policy needs `stage` or `stageSelector`")
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
