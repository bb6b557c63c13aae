"""Database tables (SQLAlchemy 2 ORM). Alembic migrations in `migrations/` mirror them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER primary keys; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, stored as naive UTC on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as naive UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base with UTC datetimes everywhere."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class MentionRow(Base):
    """A stored mention with its sentiment; one row per platform post."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_mentions_source_external_id"),
        # Retention deletes by age.
        Index("ix_mentions_created_at", "created_at"),
        # Scaled mode stores mentions first and scores them in batches on other workers.
        Index(
            "ix_mentions_pending",
            "id",
            sqlite_where=text("sentiment_label = 'pending'"),
            postgresql_where=text("sentiment_label = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(Text)
    author_handle: Mapped[str | None] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_followers: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    collected_at: Mapped[datetime]
    likes: Mapped[int] = mapped_column(Integer, default=0)
    reposts: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    is_repost: Mapped[bool] = mapped_column(default=False)
    is_quote: Mapped[bool] = mapped_column(default=False)
    parent_id: Mapped[str | None] = mapped_column(String(300))
    sentiment_label: Mapped[str] = mapped_column(String(8))
    sentiment_score: Mapped[float] = mapped_column(Float)
    sentiment_confidence: Mapped[float] = mapped_column(Float)
    sentiment_engine: Mapped[str] = mapped_column(String(32))
    # When the sentiment was stored; collected_at to scored_at is the scoring delay.
    scored_at: Mapped[datetime | None]


class MentionBrandRow(Base):
    """Which brands a mention is about (a post can name two brands)."""

    __tablename__ = "mention_brands"
    __table_args__ = (Index("ix_mention_brands_brand_created_ts", "brand", "created_ts"),)

    mention_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    brand: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Epoch seconds, so that buckets are integer division on every database.
    created_ts: Mapped[int] = mapped_column(BigInteger)


class MentionTouchpointRow(Base):
    """The customer-journey touchpoints a mention is about (delivery, billing, app...)."""

    __tablename__ = "mention_touchpoints"
    __table_args__ = (Index("ix_mention_touchpoints_touchpoint", "touchpoint"),)

    mention_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    touchpoint: Mapped[str] = mapped_column(String(32), primary_key=True)


class MentionThemeRow(Base):
    """Which complaint theme of an incident each of its negative mentions fell in."""

    __tablename__ = "mention_themes"
    __table_args__ = (Index("ix_mention_themes_alert_id", "alert_id"),)

    mention_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    theme: Mapped[str] = mapped_column(String(200))


class SourceHealthRow(Base):
    """How each (brand, source) collection has been going."""

    __tablename__ = "source_health"

    brand: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_attempt_at: Mapped[datetime]
    last_success_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None]


class Queued:
    """The columns of a row waiting for delivery, shared by both outboxes (alerts, digests).

    Pending until delivered; each failed try counts in `attempts`, keeps `last_error` and
    sets `next_attempt_at` by the delivery room's retry policy.
    """

    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class DigestRow(Queued, Base):
    """A weekly digest of one brand for one audience (key): pending until mailed, then sent."""

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("brand", "week", "digest_key", name="uq_digests_brand_week_key"),
        Index("ix_digests_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    week: Mapped[str] = mapped_column(String(8))
    digest_key: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    sent_at: Mapped[datetime | None]


class CursorRow(Base):
    """Where each (brand, source) collection resumes."""

    __tablename__ = "source_cursors"

    brand: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class AlertRow(Base):
    """An incident: opened when a rule fires, resolved when it stays normal."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_brand_rule_status", "brand", "rule", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    last_firing_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    peak_negative: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]]
    # Computed afterwards from stored history (backfill): never notified, never live.
    historical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class OutboxRow(Queued, Base):
    """An event waiting for (or done with) delivery to one notifier."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    notifier: Mapped[str] = mapped_column(String(32))
    alert_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("alerts.id"))
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    delivered_at: Mapped[datetime | None]
    delivery_ref: Mapped[str | None] = mapped_column(String(200))


class QuarantineRow(Base):
    """A mention set aside because it could not be mapped, scored or stored (dead letter).

    The rest of its page went on; `pulso quarantine --retry` tries it again and removes
    it once it passes. `payload` is the mention as JSON (ASCII, so any text fits).
    """

    __tablename__ = "quarantine"
    __table_args__ = (
        Index("ix_quarantine_brand_source_external_id", "brand", "source", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
