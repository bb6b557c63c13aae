"""Incidents computed afterwards from stored history (backfill) are marked historical.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add alerts.historical, false for every incident so far."""
    op.add_column(
        "alerts",
        sa.Column("historical", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("historical")
