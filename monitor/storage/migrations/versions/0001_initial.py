"""Initial tables: mentions, mention_brands, source_cursors, alerts, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.storage.schema import BigId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "mentions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(300), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("author_handle", sa.String(200)),
        sa.Column("author_name", sa.String(200)),
        sa.Column("author_followers", sa.Integer()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(16)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("collected_at", UTCDateTime(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("reposts", sa.Integer(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("is_repost", sa.Boolean(), nullable=False),
        sa.Column("is_quote", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.String(300)),
        sa.Column("sentiment_label", sa.String(8), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        sa.Column("sentiment_confidence", sa.Float(), nullable=False),
        sa.Column("sentiment_engine", sa.String(32), nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_mentions_source_external_id"),
    )
    op.create_table(
        "mention_brands",
        sa.Column(
            "mention_id",
            BigId,
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("brand", sa.String(64), primary_key=True),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_mention_brands_brand_created_ts", "mention_brands", ["brand", "created_ts"])
    op.create_table(
        "source_cursors",
        sa.Column("brand", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_firing_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("peak_negative", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_alerts_brand_rule_status", "alerts", ["brand", "rule", "status"])
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("notifier", sa.String(32), nullable=False),
        sa.Column("alert_id", BigId, sa.ForeignKey("alerts.id")),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime()),
        sa.Column("delivery_ref", sa.String(200)),
    )
    op.create_index("ix_outbox_status_next_attempt", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop everything the upgrade created."""
    for table in ("outbox", "alerts", "source_cursors", "mention_brands", "mentions"):
        op.drop_table(table)
