"""Signed webhook notifications fed from the store's events table (the outbox).

The engine's server creates one `WebhookDispatcher` and starts it; the API calls
`test_webhook`, `list_deliveries`, `get_delivery`, `redeliver` and `webhook_summaries`.
"""

from __future__ import annotations

from kargo.notify.deliveries import (
    DeliveryLogError,
    DeliveryNotFound,
    WebhookSummary,
    enable_webhook,
    get_delivery,
    list_deliveries,
    redeliver,
    webhook_summaries,
)
from kargo.notify.dispatcher import WebhookDispatcher
from kargo.notify.events import EventType
from kargo.notify.metrics import (
    WEBHOOK_ATTEMPT_DURATION,
    WEBHOOK_DELIVERIES,
    WEBHOOK_DELIVERY_LATENCY,
    WEBHOOK_EVENTS_BEHIND,
    WEBHOOK_QUEUE_DEPTH,
)
from kargo.notify.probing import send_test_webhook, test_webhook
from kargo.notify.retry import RetrySchedule
from kargo.notify.tables import NOTIFY_METADATA

__all__ = [
    "NOTIFY_METADATA",
    "WEBHOOK_ATTEMPT_DURATION",
    "WEBHOOK_DELIVERIES",
    "WEBHOOK_DELIVERY_LATENCY",
    "WEBHOOK_EVENTS_BEHIND",
    "WEBHOOK_QUEUE_DEPTH",
    "DeliveryLogError",
    "DeliveryNotFound",
    "EventType",
    "RetrySchedule",
    "WebhookDispatcher",
    "WebhookSummary",
    "enable_webhook",
    "get_delivery",
    "list_deliveries",
    "redeliver",
    "send_test_webhook",
    "test_webhook",
    "webhook_summaries",
]
