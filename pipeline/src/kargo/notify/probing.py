"""`kargo test webhook NAME`: send one signed `webhook.test` now, report it, log it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from kargo.model.deliveries import DeliveryStatus, WebhookTestResult
from kargo.model.webhooks import WebhookConfig
from kargo.notify.deliveries import Database, as_utc, run
from kargo.notify.events import test_notification
from kargo.notify.outbox import delivery_row
from kargo.notify.sending import attempt_delivery, new_client
from kargo.notify.tables import webhook_deliveries


async def send_test_webhook(
    config: WebhookConfig,
    *,
    db: Database | None = None,
    project: str | None = None,
    base_dir: Path | None = None,
    client: httpx.AsyncClient | None = None,
) -> WebhookTestResult:
    """Send a signed `webhook.test` once (no retries); record it in the log when db is given."""
    project = project or config.project
    notification = test_notification(project, config.name)
    event_uid = f"test-{uuid.uuid4()}"
    now = datetime.now(UTC)
    row = delivery_row(config, project, event_uid, None, notification, now)
    own_client = client is None
    http = client or new_client()
    try:
        result = await attempt_delivery(http, config, row["message_id"], row["body"], base_dir)
    finally:
        if own_client:
            await http.aclose()
    delivery_id = None
    if db is not None:
        done = datetime.now(UTC)
        status = DeliveryStatus.SUCCEEDED if result.ok else DeliveryStatus.FAILED
        row |= {
            "status": status.value,
            "attempts": 1,
            "cycle_attempts": 1,
            "next_attempt_at": None,
            "last_status_code": result.status_code,
            "last_error": result.error,
            "last_response": result.response_body or None,
            "latency_ms": round(result.latency_ms, 2),
            "updated_at": done,
            "delivered_at": done if result.ok else None,
            "event_created_at": as_utc(notification.timestamp),
        }
        statement = webhook_deliveries.insert().values(**row).returning(webhook_deliveries.c.id)
        delivery_id = run(db, lambda session: int(session.execute(statement).scalar_one()))
    return WebhookTestResult(
        ok=result.ok,
        status=result.status_code,
        latency_ms=round(result.latency_ms, 2),
        body=result.response_body,
        error=result.error,
        message_id=row["message_id"],
        delivery_id=delivery_id,
    )


async def test_webhook(
    name: str,
    configs: list[WebhookConfig],
    *,
    db: Database | None = None,
    project: str | None = None,
    base_dir: Path | None = None,
) -> WebhookTestResult:
    """Find the webhook called `name` (in `project`, when given) and send it a test."""
    for config in configs:
        if config.name == name and (project is None or config.project in ("", project)):
            return await send_test_webhook(config, db=db, project=project, base_dir=base_dir)
    raise LookupError(f"no webhook named {name}")


test_webhook.__test__ = False  # type: ignore[attr-defined]
