"""The store's tables: resource documents, the append-only events and audit trails, step logs.

The `events` table is a contract: the webhooks outbox tails it by `seq`. Its columns stay as they
are; new needs get new tables.
"""

from __future__ import annotations

import sqlalchemy as sa

METADATA = sa.MetaData()

resources = sa.Table(
    "resources",
    METADATA,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("project", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("uid", sa.Text, nullable=False),
    sa.Column("resource_version", sa.Integer, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

events = sa.Table(
    "events",
    METADATA,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.Text, unique=True, nullable=False),
    sa.Column("project", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("involved_kind", sa.Text, nullable=False),
    sa.Column("involved_name", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_events_project_seq", "project", "seq"),
)

audit = sa.Table(
    "audit",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("resource", sa.Text, nullable=False),
    sa.Column("phase_before", sa.Text, nullable=True),
    sa.Column("phase_after", sa.Text, nullable=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=True),
    sa.Column("prev_hash", sa.Text, nullable=True),
    sa.Column("hash", sa.Text, nullable=True),
)

audit_head = sa.Table(
    "audit_head",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_hash", sa.Text, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
)

promotion_logs = sa.Table(
    "promotion_logs",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.Text, nullable=False),
    sa.Column("promotion", sa.Text, nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_promotion_logs_promotion", "project", "promotion", "id"),
)

leases = sa.Table(
    "leases",
    METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("acquired_at", sa.Float, nullable=False),
    sa.Column("renewed_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("transitions", sa.Integer, nullable=False),
)
