"""Webhook deliveries as the API and CLI show them: a delivery's status, its record, a test send.

The notify layer (`kargo.notify`) writes and reads the delivery log; these are its answers, kept
here so that the contract and the CLI read them without loading SQLAlchemy.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from kargo.model.base import StrictModel


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    def is_terminal(self) -> bool:
        """Whether no further attempt will be made without a redelivery."""
        return self is not DeliveryStatus.PENDING


class DeliveryRecord(StrictModel):
    """One delivery as the API and CLI show it (never a secret; the body only on request)."""

    id: int
    message_id: str
    project: str
    webhook: str
    event_type: str
    event_uid: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    latency_ms: float | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    body: str | None = None


class WebhookTestResult(StrictModel):
    """What the API returns for a test send: `{status, latencyMs, body, ok}` (+ error, id)."""

    ok: bool
    status: int | None
    latency_ms: float
    body: str
    error: str | None = None
    message_id: str
    delivery_id: int | None = None
