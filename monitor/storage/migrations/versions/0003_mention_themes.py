"""The theme each negative mention of an incident was grouped into.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.storage.schema import BigId

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create mention_themes."""
    op.create_table(
        "mention_themes",
        sa.Column(
            "mention_id",
            BigId,
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "alert_id", BigId, sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("theme", sa.String(200), nullable=False),
    )
    op.create_index("ix_mention_themes_alert_id", "mention_themes", ["alert_id"])


def downgrade() -> None:
    """Drop mention_themes."""
    op.drop_table("mention_themes")
