"""Mentions may wait for their score (scaled mode scores them on other workers), and an
index on their age for the daily retention.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.storage.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING = sa.text("sentiment_label = 'pending'")


def upgrade() -> None:
    """Add mentions.scored_at, a partial index over the mentions still to score, and an
    index on created_at."""
    op.add_column("mentions", sa.Column("scored_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE mentions SET scored_at = collected_at")
    op.create_index(
        "ix_mentions_pending",
        "mentions",
        ["id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index("ix_mentions_created_at", "mentions", ["created_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_mentions_created_at", table_name="mentions")
    op.drop_index("ix_mentions_pending", table_name="mentions")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("scored_at")
