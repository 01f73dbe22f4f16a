"""Access control: API tokens (hashes only) and the audit trail's hash chain."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from kargo.store.auditchain import GENESIS, record_hash

revision = "0003_auth"
down_revision = "0002_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_hash", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("address", sa.Text, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.Text, nullable=True))
        batch.add_column(sa.Column("hash", sa.Text, nullable=True))
    _chain_existing_rows()


def _chain_existing_rows() -> None:
    """Seal the records written before the chain existed, oldest first."""
    text_columns = (
        "id",
        "project",
        "actor",
        "action",
        "resource",
        "phase_before",
        "phase_after",
        "source",
        "address",
        "result",
        "prev_hash",
        "hash",
    )
    audit = sa.table(
        "audit",
        *(sa.column(name) for name in text_columns),
        # Typed, so SQLite hands back a datetime, as the store reads it when verifying.
        sa.column("time", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    previous, count = GENESIS, 0
    for row in bind.execute(sa.select(audit).order_by(audit.c.id)).mappings().all():
        fields = dict(row)
        digest = record_hash(previous, fields)
        bind.execute(
            audit.update().where(audit.c.id == row["id"]).values(prev_hash=previous, hash=digest)
        )
        previous, count = digest, count + 1
    head = sa.table("audit_head", sa.column("id"), sa.column("last_hash"), sa.column("count"))
    bind.execute(head.insert().values(id=1, last_hash=previous, count=count))


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("address")
    op.drop_table("audit_head")
    op.drop_table("api_tokens")
