"""Delivery bodies: the Standard Webhooks envelope, or a Slack incoming-webhook message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kargo.model.webhooks import WebhookFormat
from kargo.notify.events import EventType, Notification

GREEN = "#2eb67d"
RED = "#e01e5a"
AMBER = "#ecb22e"
BLUE = "#36c5f0"

_RED_TYPES = {
    EventType.PROMOTION_FAILED,
    EventType.PROMOTION_ERRORED,
    EventType.VERIFICATION_FAILED,
    EventType.VERIFICATION_ERRORED,
}
_GREEN_TYPES = {
    EventType.PROMOTION_SUCCEEDED,
    EventType.VERIFICATION_SUCCEEDED,
    EventType.ROLLBACK_SUCCEEDED,
}
_AMBER_TYPES = {EventType.PROMOTION_ABORTED, EventType.ROLLBACK_STARTED}


def iso_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as Standard Webhooks payloads use."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(notification: Notification) -> dict[str, Any]:
    """The Standard Webhooks envelope: `{type, timestamp, data}`."""
    return {
        "type": notification.type.value,
        "timestamp": iso_timestamp(notification.timestamp),
        "data": notification.data,
    }


def colour(notification: Notification) -> str:
    """Slack attachment colour by outcome."""
    kind, data = notification.type, notification.data
    if kind in _RED_TYPES:
        return RED
    if kind in _GREEN_TYPES:
        return GREEN
    if kind in _AMBER_TYPES:
        return AMBER
    if "passed" in data:
        return GREEN if data["passed"] else RED
    return BLUE


def _freight_label(data: dict[str, Any]) -> str:
    freight = data.get("freight") or {}
    label = str(freight.get("alias") or freight.get("id") or "?")
    if freight.get("commit"):
        label += f" ({str(freight['commit'])[:8]})"
    return label


def summary(notification: Notification) -> str:
    """One readable line saying what happened."""
    kind, data = notification.type, notification.data
    stage = data.get("stage") or "?"
    freight = _freight_label(data)
    if kind is EventType.WEBHOOK_TEST:
        return str(data.get("message", "Test notification"))
    if kind is EventType.FREIGHT_CREATED:
        return f"New freight {freight} in project {data.get('project')}"
    if kind is EventType.SMOKE_COMPLETED:
        return f"Smoke tests on {stage}: {data['total'] - data['failed']}/{data['total']} passed"
    if kind is EventType.SECURITY_FINDINGS:
        counts = ", ".join(f"{n} {severity}" for severity, n in data["counts"].items())
        return f"Security scan of {freight} on {stage}: {counts}"
    if kind is EventType.LOADTEST_COMPLETED:
        return (
            f"Load test on {stage}: {data.get('rps')} rps, p95 {data.get('p95')}, "
            f"error rate {data.get('errorRate')}"
        )
    if kind.value.startswith("rollback."):
        verb = "started" if kind is EventType.ROLLBACK_STARTED else "succeeded"
        return f"Rollback of {stage} to {freight} {verb}: {data.get('rollbackReason')}"
    if kind.value.startswith("verification."):
        return f"Verification of {freight} on {stage}: {data.get('phase')}"
    outcome = kind.value.split(".", 1)[1]
    line = f"Promotion of {freight} to {stage} {outcome}"
    if data.get("actor"):
        line += f" (by {data['actor']})"
    failure = data.get("failure")
    if failure:
        line += f": step {failure.get('step')} — {failure.get('error')}"
    return line


def slack_message(notification: Notification) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message with a colour by outcome."""
    data = notification.data
    fields = [
        {"title": "Event", "value": notification.type.value, "short": True},
        {"title": "Project", "value": str(data.get("project", "")), "short": True},
    ]
    if data.get("stage"):
        fields.append({"title": "Stage", "value": str(data["stage"]), "short": True})
    if data.get("freight"):
        fields.append({"title": "Freight", "value": _freight_label(data), "short": True})
    text = summary(notification)
    return {
        "text": text,
        "attachments": [
            {
                "color": colour(notification),
                "fallback": text,
                "text": text,
                "fields": fields,
                "footer": "kargo",
                "ts": int(notification.timestamp.timestamp()),
            }
        ],
    }


def render_body(notification: Notification, format: WebhookFormat) -> str:
    """The exact body sent (and stored, so every retry sends the same bytes)."""
    if format is WebhookFormat.SLACK:
        document = slack_message(notification)
    else:
        document = envelope(notification)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)
