"""Notification types, and how a row of the store's `events` table becomes notifications.

One event can give several notifications: a finished verification gives `verification.*` plus one
`smoke.completed` / `security.findings` / `loadtest.completed` per analysis template annotated
with `notifications.kargo.akuity.io/type`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from kargo.notify.results import summarise_template
from kargo.store.documents import StoredEvent

TEMPLATE_TYPE_ANNOTATION = "notifications.kargo.akuity.io/type"


class EventType(StrEnum):
    """Every notification type a webhook can subscribe to."""

    PROMOTION_CREATED = "promotion.created"
    PROMOTION_STARTED = "promotion.started"
    PROMOTION_SUCCEEDED = "promotion.succeeded"
    PROMOTION_FAILED = "promotion.failed"
    PROMOTION_ERRORED = "promotion.errored"
    PROMOTION_ABORTED = "promotion.aborted"
    VERIFICATION_SUCCEEDED = "verification.succeeded"
    VERIFICATION_FAILED = "verification.failed"
    VERIFICATION_ERRORED = "verification.errored"
    SMOKE_COMPLETED = "smoke.completed"
    SECURITY_FINDINGS = "security.findings"
    LOADTEST_COMPLETED = "loadtest.completed"
    ROLLBACK_STARTED = "rollback.started"
    ROLLBACK_SUCCEEDED = "rollback.succeeded"
    FREIGHT_CREATED = "freight.created"
    WEBHOOK_TEST = "webhook.test"


PROMOTION_REASONS: dict[str, EventType] = {
    "PromotionCreated": EventType.PROMOTION_CREATED,
    "PromotionRunning": EventType.PROMOTION_STARTED,
    "PromotionStarted": EventType.PROMOTION_STARTED,
    "PromotionSucceeded": EventType.PROMOTION_SUCCEEDED,
    "PromotionFailed": EventType.PROMOTION_FAILED,
    "PromotionErrored": EventType.PROMOTION_ERRORED,
    "PromotionAborted": EventType.PROMOTION_ABORTED,
}
ROLLBACK_REASONS: dict[str, EventType] = {
    "RollbackStarted": EventType.ROLLBACK_STARTED,
    "RollbackSucceeded": EventType.ROLLBACK_SUCCEEDED,
    "FreightRolledBack": EventType.ROLLBACK_SUCCEEDED,
}
# A promotion that is a rollback also announces the rollback itself.
ROLLBACK_PROMOTION_REASONS: dict[str, EventType] = {
    "PromotionCreated": EventType.ROLLBACK_STARTED,
    "PromotionSucceeded": EventType.ROLLBACK_SUCCEEDED,
}
VERIFICATION_REASONS: dict[str, EventType] = {
    "FreightVerificationSucceeded": EventType.VERIFICATION_SUCCEEDED,
    "FreightVerificationFailed": EventType.VERIFICATION_FAILED,
    "FreightVerificationErrored": EventType.VERIFICATION_ERRORED,
}
TEMPLATE_TYPES = {
    EventType.SMOKE_COMPLETED,
    EventType.SECURITY_FINDINGS,
    EventType.LOADTEST_COMPLETED,
}


# The outbox is the store's append-only events table: one row is one event to notify about.
OutboxEvent = StoredEvent


@dataclass(frozen=True)
class Notification:
    """A typed notification with its `data`, ready to be wrapped in an envelope."""

    type: EventType
    data: dict[str, Any]
    timestamp: datetime
    key: str | None = None

    def dedupe_key(self, event_uid: str) -> str:
        """What makes two notifications of one type the same one (usually the event)."""
        return self.key or event_uid


def _freight(data: dict[str, Any]) -> dict[str, Any]:
    freight: dict[str, Any] = {"id": data.get("freight")}
    if data.get("freightAlias") is not None:
        freight["alias"] = data["freightAlias"]
    if data.get("commit") is not None:
        freight["commit"] = data["commit"]
    return freight


def _base(event: OutboxEvent) -> dict[str, Any]:
    return {
        "project": event.project,
        "event": {
            "uid": event.uid,
            "reason": event.reason,
            "severity": event.type,
            "message": event.message,
            "involvedObject": {"kind": event.involved_kind, "name": event.involved_name},
        },
    }


def _promotion_data(event: OutboxEvent) -> dict[str, Any]:
    data = event.data
    payload = _base(event) | {
        "stage": data.get("stage"),
        "freight": _freight(data),
        "actor": data.get("actor"),
        "promotion": data.get("promotion") or event.involved_name,
        "durationSeconds": data.get("durationSeconds"),
        "rollback": bool(data.get("rollback", False)),
    }
    if data.get("failedStep") is not None or data.get("error") is not None:
        payload["failure"] = {"step": data.get("failedStep"), "error": data.get("error")}
    return payload


def _rollback(event: OutboxEvent, kind: EventType) -> Notification:
    data = event.data
    reason = data.get("rollbackReason") or data.get("reason") or event.message
    payload = _promotion_data(event) | {"rollbackReason": reason}
    cause = {key: data[key] for key in ("metric", "value", "condition") if key in data}
    if cause:
        payload["cause"] = cause
    # A rollback can be announced by its promotion's events and by a rollback reason: one id.
    key = f"rollback/{data['promotion']}" if data.get("promotion") else None
    return Notification(kind, payload, event.created_at, key)


def _verification_data(event: OutboxEvent) -> dict[str, Any]:
    data = event.data
    templates = [
        {
            "name": template.get("name"),
            "phase": template.get("phase"),
            "metrics": [
                {key: metric.get(key) for key in ("name", "phase", "value", "message")}
                for metric in template.get("metrics") or []
            ],
        }
        for template in data.get("templates") or []
    ]
    return _base(event) | {
        "stage": data.get("stage"),
        "freight": _freight(data),
        "analysisRun": data.get("analysisRun"),
        "phase": data.get("phase"),
        "templates": templates,
    }


def _template_notifications(event: OutboxEvent) -> list[Notification]:
    found: list[Notification] = []
    for template in event.data.get("templates") or []:
        annotations = template.get("annotations") or {}
        try:
            kind = EventType(annotations.get(TEMPLATE_TYPE_ANNOTATION, ""))
        except ValueError:
            continue
        if kind not in TEMPLATE_TYPES:
            continue
        summary = summarise_template(kind.value, template)
        data = _base(event) | {
            "stage": event.data.get("stage"),
            "freight": _freight(event.data),
            "analysisRun": event.data.get("analysisRun"),
            "template": template.get("name"),
            "phase": template.get("phase"),
        }
        found.append(Notification(kind, data | summary, event.created_at))
    return found


def notifications_for(event: OutboxEvent) -> list[Notification]:
    """The notifications one event gives (none for reasons nobody subscribes to)."""
    reason = event.reason
    at = event.created_at
    if reason in PROMOTION_REASONS:
        found = [Notification(PROMOTION_REASONS[reason], _promotion_data(event), at)]
        if event.data.get("rollback") and reason in ROLLBACK_PROMOTION_REASONS:
            found.append(_rollback(event, ROLLBACK_PROMOTION_REASONS[reason]))
        return found
    if reason in ROLLBACK_REASONS:
        return [_rollback(event, ROLLBACK_REASONS[reason])]
    if reason in VERIFICATION_REASONS:
        verdict = Notification(VERIFICATION_REASONS[reason], _verification_data(event), at)
        return [verdict, *_template_notifications(event)]
    if reason == "FreightCreated":
        freight = _freight(event.data)
        if freight["id"] is None:
            freight["id"] = event.involved_name
        data = _base(event) | {"freight": freight}
        if event.data.get("warehouse") is not None:
            data["warehouse"] = event.data["warehouse"]
        return [Notification(EventType.FREIGHT_CREATED, data, at)]
    return []


def test_notification(project: str, webhook: str) -> Notification:
    """The `webhook.test` notification `kargo test webhook NAME` sends."""
    now = datetime.now(UTC)
    data = {
        "project": project,
        "webhook": webhook,
        "message": f"Test notification from Kargo for webhook {webhook}",
    }
    return Notification(EventType.WEBHOOK_TEST, data, now)


test_notification.__test__ = False  # type: ignore[attr-defined]
