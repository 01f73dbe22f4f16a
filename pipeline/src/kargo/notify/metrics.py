"""Prometheus metrics of webhook delivery, registered on the default registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)

WEBHOOK_DELIVERIES = Counter(
    "kargo_webhook_deliveries",
    "Webhook delivery attempts by outcome (succeeded, retrying, failed, gone).",
    ["project", "webhook", "outcome"],
)
WEBHOOK_DELIVERY_LATENCY = Histogram(
    "kargo_webhook_delivery_latency_seconds",
    "Time from the event being recorded to its delivery being accepted.",
    ["project", "webhook"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_ATTEMPT_DURATION = Histogram(
    "kargo_webhook_attempt_duration_seconds",
    "Duration of one HTTP attempt.",
    ["project", "webhook"],
)
WEBHOOK_QUEUE_DEPTH = Gauge(
    "kargo_webhook_queue_depth",
    "Deliveries waiting to be sent (pending, including those waiting for a retry).",
)
WEBHOOK_EVENTS_BEHIND = Gauge(
    "kargo_webhook_events_behind",
    "Events in the outbox that the dispatcher has not turned into deliveries yet.",
)
