"""Initial schema: resources, events (the outbox contract), audit, promotion logs."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("project", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("uid", sa.Text, nullable=False),
        sa.Column("resource_version", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "events",
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
    )
    op.create_index("ix_events_project_seq", "events", ["project", "seq"])
    op.create_table(
        "audit",
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
    )
    op.create_table(
        "promotion_logs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.Text, nullable=False),
        sa.Column("promotion", sa.Text, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_promotion_logs_promotion", "promotion_logs", ["project", "promotion", "id"])


def downgrade() -> None:
    op.drop_table("promotion_logs")
    op.drop_table("audit")
    op.drop_table("events")
    op.drop_table("resources")
