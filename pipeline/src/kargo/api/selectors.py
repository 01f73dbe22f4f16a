"""Field and label selectors (`a=b,c!=d`) as kubectl writes them."""

from __future__ import annotations

from typing import Any

from kargo.api.codes import ErrorCode
from kargo.api.errors import ApiError
from kargo.model.labels import Requirement, labels_match, parse_label_selector
from kargo.store import EventFilter


def parse_selector(text: str | None) -> EventFilter:
    """Split `k=v,k==v,k!=v` into equal and not-equal maps."""
    selector = EventFilter()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            key, value = part.split("!=", 1)
            selector.not_equal[key.strip()] = value.strip()
        elif "=" in part:
            key, value = part.split("==", 1) if "==" in part else part.split("=", 1)
            selector.equal[key.strip()] = value.strip()
        else:
            raise ApiError(
                ErrorCode.BAD_REQUEST, f"selector {part!r}: expected key=value or key!=value"
            )
    return selector


def _field(resource: dict[str, Any], path: str) -> str | None:
    current: Any = resource
    for key in path.split("."):
        if not isinstance(current, dict) or key not in current:
            return None
        current = current[key]
    return None if current is None else str(current)


def matches_fields(resource: dict[str, Any], selector: EventFilter) -> bool:
    """Whether a resource's fields (dotted paths) pass the selector."""
    return all(_field(resource, k) == v for k, v in selector.equal.items()) and all(
        _field(resource, k) != v for k, v in selector.not_equal.items()
    )


def label_requirements(text: str | None) -> list[Requirement]:
    """A `labelSelector` (equality- or set-based), or BadRequest saying what was expected."""
    try:
        return parse_label_selector(text)
    except ValueError as exc:
        raise ApiError(ErrorCode.BAD_REQUEST, str(exc)) from exc


def matches_labels(resource: dict[str, Any], requirements: list[Requirement]) -> bool:
    """Whether a resource's labels pass the selector."""
    return labels_match((resource.get("metadata") or {}).get("labels") or {}, requirements)
