"""Base classes shared by every resource: metadata, spec, status, camelCase field names.

Resources mirror Kargo's (`kargo.akuity.io/v1alpha1`): Python attributes are snake_case, the
serialised form (YAML, JSON, the API) is camelCase, and unknown fields are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, NewType, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

API_VERSION = "kargo.akuity.io/v1alpha1"

ProjectName = NewType("ProjectName", str)
ResourceName = NewType("ResourceName", str)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class StrictModel(BaseModel):
    """A model that reads and writes camelCase and refuses unknown fields."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_assignment=False,
    )

    def to_dict(self) -> dict[str, Any]:
        """The serialised (camelCase, JSON-compatible) form, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ObjectMeta(StrictModel):
    """Kubernetes-style metadata; `namespace` is the Kargo project."""

    name: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: datetime | None = None


SpecT = TypeVar("SpecT", bound=BaseModel)
StatusT = TypeVar("StatusT", bound=BaseModel)


class EmptyStatus(StrictModel):
    """Status of a kind that keeps none."""


class Named:
    """`name` and `project` of a document with `metadata` (a mixin: it adds no field)."""

    if TYPE_CHECKING:
        metadata: ObjectMeta

    @property
    def name(self) -> str:
        """The document's name."""
        return self.metadata.name

    @property
    def project(self) -> str:
        """The project (namespace) the document belongs to."""
        return self.metadata.namespace or ""


class Resource(StrictModel, Named, Generic[SpecT, StatusT]):
    """A resource: apiVersion, kind, metadata, spec and status."""

    api_version: str = API_VERSION
    kind: str
    metadata: ObjectMeta
    spec: SpecT
    status: StatusT
