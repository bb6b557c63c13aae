"""What a source alert reads: since when a (brand, source) has been failing, and how many
mentions it brought in the same hours of today and of each of the days before."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.storage.schema import MentionBrandRow, MentionRow, SourceHealthRow

DAY = 86_400


@dataclass(frozen=True, slots=True)
class Failing:
    """A source that has failed every try since `since`."""

    since: datetime
    failures: int
    last_error: str | None


def failing(session: Session, brand: str, source: str) -> Failing | None:
    """How the source has been failing, or None if its last try worked (or none was made)."""
    row = session.get(SourceHealthRow, (brand, source))
    if row is None or not row.failing_since:
        return None
    return Failing(row.failing_since, row.consecutive_failures, row.last_error)


def window_counts(
    session: Session, brand: str, source: str, now: datetime, hours: int, days: int
) -> tuple[int, float]:
    """Mentions from `source` in the last `hours`, and the median of the same window on
    each of the previous `days` (days before it collected anything count as missing)."""
    end = int(now.timestamp())
    span = hours * 3600
    age = end - MentionBrandRow.created_ts
    day = age // DAY
    rows = session.execute(
        select(day, func.count())
        .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
        .where(
            MentionBrandRow.brand == brand,
            MentionRow.source == source,
            MentionBrandRow.created_ts > end - (days + 1) * DAY,
            MentionBrandRow.created_ts <= end,
            age % DAY < span,
        )
        .group_by(day)
    )
    counts = {int(d): int(n) for d, n in rows}
    first = session.scalar(
        select(func.min(MentionBrandRow.created_ts))
        .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
        .where(MentionBrandRow.brand == brand, MentionRow.source == source)
    )
    if first is None:
        return 0, 0.0
    earlier = [d for d in range(1, days + 1) if end - d * DAY - span >= first]
    usual = statistics.median(counts.get(d, 0) for d in earlier) if earlier else 0.0
    return counts.get(0, 0), float(usual)
