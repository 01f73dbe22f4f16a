"""The JSON Schema of each notification type's envelope, shipped in `kargo/notify/schemas/`."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from kargo.notify.events import EventType


@cache
def schema_for(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) a `standard` delivery of this type conforms to."""
    text = resources.files("kargo.notify").joinpath("schemas", f"{event_type.value}.json")
    document: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return document


def all_schemas() -> dict[EventType, dict[str, Any]]:
    """Every type's schema."""
    return {event_type: schema_for(event_type) for event_type in EventType}
