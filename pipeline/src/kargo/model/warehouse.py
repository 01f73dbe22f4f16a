"""Warehouse: subscribes to a git repository and turns new commits into freight."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from kargo.model.base import Resource, StrictModel
from kargo.model.common import Condition
from kargo.model.durations import parse_duration


class CommitSelectionStrategy(enum.StrEnum):
    """How a git subscription picks the commit to offer as freight."""

    NEWEST_FROM_BRANCH = "NewestFromBranch"
    NEWEST_TAG = "NewestTag"
    SEMVER = "SemVer"
    LEXICAL = "Lexical"


class FreightCreationPolicy(enum.StrEnum):
    """Whether discovered artifacts become freight automatically."""

    AUTOMATIC = "Automatic"
    MANUAL = "Manual"


class GitSubscription(StrictModel):
    """A git repository (a local path or a URL) to watch."""

    repo_url: str = Field(alias="repoURL", min_length=1)
    branch: str = "main"
    commit_selection_strategy: CommitSelectionStrategy = CommitSelectionStrategy.NEWEST_FROM_BRANCH
    semver_constraint: str | None = None
    allow_tags: str | None = None
    ignore_tags: list[str] = Field(default_factory=list)
    include_paths: list[str] = Field(default_factory=list)
    exclude_paths: list[str] = Field(default_factory=list)
    discovery_limit: int = Field(default=20, ge=1, le=100)
    strict_semvers: bool = True


class RepoSubscription(StrictModel):
    """One subscription of a warehouse (only git is supported on one machine)."""

    git: GitSubscription


class WarehouseSpec(StrictModel):
    """What the warehouse watches and how often."""

    subscriptions: list[RepoSubscription] = Field(min_length=1)
    interval: str = "5m"
    freight_creation_policy: FreightCreationPolicy = FreightCreationPolicy.AUTOMATIC

    @field_validator("interval")
    @classmethod
    def _valid_interval(cls, value: str) -> str:
        parse_duration(value)
        return value

    def interval_seconds(self) -> float:
        """The discovery interval in seconds."""
        return parse_duration(self.interval).total_seconds()


class DiscoveredCommit(StrictModel):
    """A commit seen by the last discovery."""

    id: str
    branch: str = ""
    tag: str = ""
    subject: str = ""
    author: str = ""
    creator_date: datetime | None = None


class GitDiscoveryResult(StrictModel):
    """Commits discovered in one repository."""

    repo_url: str = Field(alias="repoURL")
    commits: list[DiscoveredCommit] = Field(default_factory=list)


class DiscoveredArtifacts(StrictModel):
    """What the last discovery found."""

    discovered_at: datetime | None = None
    git: list[GitDiscoveryResult] = Field(default_factory=list)


class WarehouseStatus(StrictModel):
    """Observed state of a warehouse."""

    conditions: list[Condition] = Field(default_factory=list)
    discovered_artifacts: DiscoveredArtifacts | None = None
    last_freight_id: str | None = Field(default=None, alias="lastFreightID")
    last_handled_refresh: str | None = None
    observed_generation: int | None = None


REFRESH_ANNOTATION = "kargo.akuity.io/refresh"
"""Set to a new token to ask for discovery now (Kargo's refresh annotation)."""


class Warehouse(Resource[WarehouseSpec, WarehouseStatus]):
    """A source of freight."""

    kind: Literal["Warehouse"] = "Warehouse"
    status: WarehouseStatus = Field(default_factory=WarehouseStatus)
