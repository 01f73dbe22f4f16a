"""Warehouse: subscribes to git repositories, container images and Helm charts; makes freight."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

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
    expression_filter: str | None = None  # expr over each commit or tag (kargo.engine.criteria)


class ImageSelectionStrategy(enum.StrEnum):
    """How an image subscription orders the tags it finds (Kargo's names)."""

    SEMVER = "SemVer"
    LEXICAL = "Lexical"
    NEWEST_BUILD = "NewestBuild"
    DIGEST = "Digest"


class ImageSubscription(StrictModel):
    """A container image repository in an OCI registry (Distribution API v2) to watch."""

    repo_url: str = Field(alias="repoURL", min_length=1)
    image_selection_strategy: ImageSelectionStrategy = ImageSelectionStrategy.SEMVER
    constraint: str | None = None
    semver_constraint: str | None = None  # older Kargo releases' name for `constraint`
    allow_tags: str | None = None
    allow_tags_regexes: list[str] = Field(default_factory=list)
    ignore_tags: list[str] = Field(default_factory=list)
    ignore_tags_regexes: list[str] = Field(default_factory=list)
    platform: str | None = Field(default=None, pattern=r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$")
    discovery_limit: int = Field(default=20, ge=1, le=100)
    strict_semvers: bool = True
    insecure_skip_tls_verify: bool = False
    cache_by_tag: bool = False

    @model_validator(mode="after")
    def _digest_needs_a_tag(self) -> ImageSubscription:
        if self.image_selection_strategy is ImageSelectionStrategy.DIGEST and not self.constraint:
            raise ValueError("imageSelectionStrategy Digest needs constraint: the tag to follow")
        return self

    def version_constraint(self) -> str:
        """The semver constraint (`constraint`, or the older `semverConstraint`)."""
        return self.constraint or self.semver_constraint or ""


class ChartSubscription(StrictModel):
    """A Helm chart in an HTTP chart repository (`index.yaml`) or an OCI registry."""

    repo_url: str = Field(alias="repoURL", min_length=1)
    name: str | None = None
    semver_constraint: str | None = None
    discovery_limit: int = Field(default=20, ge=1, le=100)
    insecure_skip_tls_verify: bool = False


class RepoSubscription(StrictModel):
    """One subscription of a warehouse: exactly one of git, image or chart."""

    git: GitSubscription | None = None
    image: ImageSubscription | None = None
    chart: ChartSubscription | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RepoSubscription:
        if sum(s is not None for s in (self.git, self.image, self.chart)) != 1:
            raise ValueError("set exactly one of git, image or chart")
        return self


class FreightCreationCriteria(StrictModel):
    """An expr expression over the discovered artifacts that must hold for freight to be made."""

    expression: str = ""


class WarehouseSpec(StrictModel):
    """What the warehouse watches and how often."""

    subscriptions: list[RepoSubscription] = Field(min_length=1)
    interval: str = "5m"
    freight_creation_policy: FreightCreationPolicy = FreightCreationPolicy.AUTOMATIC
    freight_creation_criteria: FreightCreationCriteria | None = None

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


class DiscoveredImageReference(StrictModel):
    """An image revision seen by the last discovery."""

    tag: str
    digest: str
    annotations: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None


class ImageDiscoveryResult(StrictModel):
    """Image revisions discovered in one repository, best first."""

    repo_url: str = Field(alias="repoURL")
    platform: str = ""
    references: list[DiscoveredImageReference] = Field(default_factory=list)


class ChartDiscoveryResult(StrictModel):
    """Chart versions discovered in one repository, highest first."""

    repo_url: str = Field(alias="repoURL")
    name: str = ""
    semver_constraint: str = ""
    versions: list[str] = Field(default_factory=list)


class DiscoveredArtifacts(StrictModel):
    """What the last discovery found."""

    discovered_at: datetime | None = None
    git: list[GitDiscoveryResult] = Field(default_factory=list)
    images: list[ImageDiscoveryResult] = Field(default_factory=list)
    charts: list[ChartDiscoveryResult] = Field(default_factory=list)

    def complete(self) -> bool:
        """Whether every subscription found something (freight needs one of each)."""
        found = [*self.git, *self.images, *self.charts]
        return bool(found) and all(
            (r.commits if isinstance(r, GitDiscoveryResult) else None)
            or (r.references if isinstance(r, ImageDiscoveryResult) else None)
            or (r.versions if isinstance(r, ChartDiscoveryResult) else None)
            for r in found
        )


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
