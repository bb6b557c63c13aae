"""How each (brand, source) collection has been going: successes, failures, rate limits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.storage.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create source_health."""
    op.create_table(
        "source_health",
        sa.Column("brand", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_success_at", UTCDateTime()),
        sa.Column("failing_since", UTCDateTime()),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("retry_at", UTCDateTime()),
    )


def downgrade() -> None:
    """Drop source_health."""
    op.drop_table("source_health")
