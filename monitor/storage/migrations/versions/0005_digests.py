"""Weekly digests to mail: one row per (brand, week, audience key), pending until sent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.storage.schema import BigId, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create digests."""
    op.create_table(
        "digests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("digest_key", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.UniqueConstraint("brand", "week", "digest_key", name="uq_digests_brand_week_key"),
    )
    op.create_index("ix_digests_status_next_attempt", "digests", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop digests."""
    op.drop_index("ix_digests_status_next_attempt", table_name="digests")
    op.drop_table("digests")
