"""Fill in what an event's data leaves out from the resources it names, in the same transaction.

A rollback promotion carries its reason in the `kargo.akuity.io/rollback` annotation, and an
analysis template its notification type in `notifications.kargo.akuity.io/type`; when the event's
data does not repeat them, they are read from the store's resource documents.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kargo.model.promotion import ROLLBACK_ANNOTATION
from kargo.notify.events import (
    PROMOTION_REASONS,
    TEMPLATE_TYPE_ANNOTATION,
    VERIFICATION_REASONS,
    OutboxEvent,
)
from kargo.store.schema import resources


def _annotations(session: Session, kind: str, project: str, name: str) -> dict[str, str]:
    query = (
        sa.select(resources.c.body)
        .where(resources.c.kind == kind, resources.c.name == name)
        .where(resources.c.project.in_([project, ""]))
        .order_by(resources.c.project.desc())
        .limit(1)
    )
    body = session.execute(query).scalar()
    if isinstance(body, str):
        body = json.loads(body)
    if not isinstance(body, dict):
        return {}
    found = (body.get("metadata") or {}).get("annotations") or {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _promotion(session: Session, event: OutboxEvent) -> OutboxEvent:
    data = event.data
    if data.get("rollback") and data.get("rollbackReason"):
        return event
    name = str(data.get("promotion") or event.involved_name)
    reason = _annotations(session, "Promotion", event.project, name).get(ROLLBACK_ANNOTATION)
    if reason is None:
        return event
    return replace(event, data=data | {"rollback": True, "rollbackReason": reason})


def _verification(session: Session, event: OutboxEvent) -> OutboxEvent:
    templates: list[Any] = []
    changed = False
    for template in event.data.get("templates") or []:
        if not isinstance(template, dict):
            continue
        annotations = template.get("annotations") or {}
        if TEMPLATE_TYPE_ANNOTATION not in annotations and template.get("name"):
            stored = _annotations(session, "AnalysisTemplate", event.project, template["name"])
            if TEMPLATE_TYPE_ANNOTATION in stored:
                template = template | {"annotations": {**annotations, **stored}}
                changed = True
        templates.append(template)
    return replace(event, data=event.data | {"templates": templates}) if changed else event


def enrich(session: Session, event: OutboxEvent) -> OutboxEvent:
    """The event with rollback reasons and template notification types filled in."""
    if event.reason in PROMOTION_REASONS:
        return _promotion(session, event)
    if event.reason in VERIFICATION_REASONS:
        return _verification(session, event)
    return event
