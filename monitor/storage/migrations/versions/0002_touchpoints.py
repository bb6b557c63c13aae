"""Touchpoints of each mention (customer-journey tags), one row per (mention, touchpoint).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.storage.schema import BigId

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create mention_touchpoints."""
    op.create_table(
        "mention_touchpoints",
        sa.Column(
            "mention_id",
            BigId,
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("touchpoint", sa.String(32), primary_key=True),
    )
    op.create_index("ix_mention_touchpoints_touchpoint", "mention_touchpoints", ["touchpoint"])


def downgrade() -> None:
    """Drop mention_touchpoints."""
    op.drop_table("mention_touchpoints")
