"""The notify layer's tables: the outbox cursor, the delivery log and endpoint state.

The `events` table belongs to the store; it is read here through a lightweight table clause
naming exactly the contract's columns, so that nothing here redefines the store's schema.
Migration `0002_webhooks` creates the tables below; `NOTIFY_METADATA.create_all` makes the same.
"""

from __future__ import annotations

import sqlalchemy as sa

NOTIFY_METADATA = sa.MetaData()


events = sa.table(
    "events",
    sa.column("seq", sa.Integer),
    sa.column("uid", sa.Text),
    sa.column("project", sa.Text),
    sa.column("reason", sa.Text),
    sa.column("type", sa.Text),
    sa.column("involved_kind", sa.Text),
    sa.column("involved_name", sa.Text),
    sa.column("message", sa.Text),
    sa.column("data", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)

webhook_cursor = sa.Table(
    "webhook_cursor",
    NOTIFY_METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    NOTIFY_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.Text, nullable=False, unique=True),
    sa.Column("project", sa.Text, nullable=False),
    sa.Column("webhook", sa.Text, nullable=False),
    sa.Column("event_uid", sa.Text, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=True),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cycle_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cycle_started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_response", sa.Text, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("event_created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("project", "webhook", "event_uid", "event_type", name="uq_delivery_event"),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_webhook", "project", "webhook", "id"),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    NOTIFY_METADATA,
    sa.Column("project", sa.Text, primary_key=True),
    sa.Column("webhook", sa.Text, primary_key=True),
    sa.Column("url_host", sa.Text, nullable=False),
    sa.Column("disabled_reason", sa.Text, nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=False),
)
