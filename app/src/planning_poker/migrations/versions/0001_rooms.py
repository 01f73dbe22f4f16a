"""Create the rooms table: one JSON document per room."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_rooms"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rooms."""
    op.create_table(
        "rooms",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_activity_at", sa.Float, nullable=False),
    )
    op.create_index("ix_rooms_last_activity_at", "rooms", ["last_activity_at"])


def downgrade() -> None:
    """Drop rooms."""
    op.drop_index("ix_rooms_last_activity_at", table_name="rooms")
    op.drop_table("rooms")
