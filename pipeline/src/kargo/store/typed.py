"""Typed access: read and write resource models instead of dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class _Reader(Protocol):
    def get(self, kind: str, project: str, name: str) -> dict[str, Any] | None: ...


def kind_of(cls: type[BaseModel]) -> str:
    """The kind name a model class declares as its `kind` default."""
    return str(cls.model_fields["kind"].default)


def to_document(model: BaseModel) -> dict[str, Any]:
    """The stored (camelCase JSON) form of a model."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def get_model(reader: _Reader, cls: type[M], project: str, name: str) -> M | None:
    """Read one resource as a model, or None."""
    body = reader.get(kind_of(cls), project, name)
    return cls.model_validate(body) if body is not None else None


def save_model(tx: Any, model: M, *, spec_changed: bool = False) -> M:
    """Create the model (no resourceVersion yet) or update it (conflict if stale)."""
    body = to_document(model)
    if body.get("metadata", {}).get("resourceVersion") is None:
        stored = tx.create(body)
    else:
        stored = tx.update(body, spec_changed=spec_changed)
    saved = model.model_copy()
    meta = stored["metadata"]
    saved.metadata = model.metadata.model_copy(  # type: ignore[attr-defined]
        update={
            "resource_version": meta["resourceVersion"],
            "generation": meta.get("generation"),
            "uid": meta.get("uid"),
            "creation_timestamp": model.metadata.creation_timestamp  # type: ignore[attr-defined]
            or _parse_time(meta.get("creationTimestamp")),
        }
    )
    return saved


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def list_models(store: Any, cls: type[M], project: str | None = None) -> list[M]:
    """All resources of a model's kind."""
    return [cls.model_validate(b) for b in store.list(kind_of(cls), project)]
