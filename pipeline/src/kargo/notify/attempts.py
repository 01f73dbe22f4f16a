"""What one attempt's result does to the delivery log: delivered, retry later, give up, disable."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kargo.model.deliveries import DeliveryStatus
from kargo.model.webhooks import WebhookConfig
from kargo.notify.deliveries import Sessions, as_utc, disable_endpoint, run
from kargo.notify.metrics import (
    WEBHOOK_ATTEMPT_DURATION,
    WEBHOOK_DELIVERIES,
    WEBHOOK_DELIVERY_LATENCY,
)
from kargo.notify.retry import RetrySchedule
from kargo.notify.sending import AttemptOutcome, AttemptResult
from kargo.notify.tables import webhook_deliveries

log = logging.getLogger(__name__)


def record_attempt(
    sessions: Sessions,
    row: sa.Row[Any],
    config: WebhookConfig,
    result: AttemptResult,
    schedule: RetrySchedule,
) -> DeliveryStatus:
    """Write one attempt's result to the delivery log and the metrics; the new status."""
    now = datetime.now(UTC)
    labels = (row.project, row.webhook)
    WEBHOOK_ATTEMPT_DURATION.labels(*labels).observe(result.latency_ms / 1000)
    values: dict[str, Any] = {
        "attempts": row.attempts + 1,
        "cycle_attempts": row.cycle_attempts + 1,
        "last_status_code": result.status_code,
        "last_response": result.response_body or None,
        "latency_ms": round(result.latency_ms, 2),
        "updated_at": now,
    }
    gone = result.outcome is AttemptOutcome.GONE
    if result.outcome is AttemptOutcome.DELIVERED:
        status, outcome = DeliveryStatus.SUCCEEDED, "succeeded"
        values |= {"status": status.value, "delivered_at": now, "next_attempt_at": None}
        values["last_error"] = None
    elif gone:
        status, outcome = DeliveryStatus.FAILED, "gone"
        values |= {"status": status.value, "next_attempt_at": None}
        values["last_error"] = result.error or "410 Gone"
    else:
        started = as_utc(row.cycle_started_at) or now
        elapsed = (now - started).total_seconds()
        delay = schedule.next_delay(row.cycle_attempts + 1, elapsed, result.retry_after)
        values["last_error"] = result.error
        if delay is None:
            status, outcome = DeliveryStatus.FAILED, "failed"
            values |= {"status": status.value, "next_attempt_at": None}
        else:
            status, outcome = DeliveryStatus.PENDING, "retrying"
            values["next_attempt_at"] = now + timedelta(seconds=delay)

    def work(session: Session) -> int:
        failed_too = 0
        if gone:
            failed_too = disable_endpoint(session, row.project, config, values["last_error"], now)
        session.execute(
            webhook_deliveries.update().where(webhook_deliveries.c.id == row.id).values(**values)
        )
        return failed_too

    failed_too = run(sessions, work)
    if gone:
        log.warning(
            "webhook %s answered 410 Gone: disabled, %d pending deliveries failed",
            config.name,
            failed_too,
        )
    WEBHOOK_DELIVERIES.labels(*labels, outcome).inc()
    if status is DeliveryStatus.SUCCEEDED:
        event_at = as_utc(row.event_created_at) or now
        WEBHOOK_DELIVERY_LATENCY.labels(*labels).observe((now - event_at).total_seconds())
    return status
