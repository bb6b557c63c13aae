"""The week's praise and its authors in segments (promoters, growing, at risk, detractors).

Authors are counted from SQL aggregates by author (source + handle) over the history
window: one query with conditional sums for this week and for the weeks before it, then
classified in Python. Each active author falls in at most one segment, the first that
fits in SEGMENTS order, so the counts add up and their shares make sense.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from monitor.storage.mentions import StoredMention, labelled_between
from monitor.storage.schema import MentionBrandRow, MentionRow

SEGMENTS = ("at_risk", "detractors", "promoters", "growing")
WEEK = timedelta(days=7)


def positives_between(
    session: Session, brand: str, start: datetime, end: datetime, limit: int = 500
) -> list[StoredMention]:
    """Positive mentions of `brand` in [start, end), most engaging and most positive first."""
    return labelled_between(session, brand, start, end, "positive", limit)


@dataclass(frozen=True, slots=True)
class AuthorHistory:
    """One author's mentions this week and in the weeks of the window before it."""

    now: int
    now_negative: int
    now_positive: int
    before: int
    before_negative: int
    before_positive: int
    first_ts: int


def segment_of(a: AuthorHistory, week_start_ts: int, history_weeks: int) -> str | None:
    """The author's segment (first that fits in SEGMENTS order), or None."""
    total = a.now + a.before
    negative = a.now_negative + a.before_negative
    positive = a.now_positive + a.before_positive
    if a.before and a.before_positive >= a.before_negative and a.now_negative > a.now_positive:
        return "at_risk"
    if total >= 2 and 3 * negative >= 2 * total:
        return "detractors"
    if total >= 2 and negative == 0 and 3 * positive >= 2 * total:
        return "promoters"
    new = a.first_ts >= week_start_ts - int(WEEK.total_seconds())
    average = a.before / max(history_weeks - 1, 1)
    if new or (a.before and a.now >= 2 * average):
        return "growing"
    return None


def _histories(
    session: Session, brand: str, week_start: datetime, week_end: datetime, history_weeks: int
) -> list[AuthorHistory]:
    start_ts, end_ts = int(week_start.timestamp()), int(week_end.timestamp())
    window_ts = int((week_start - WEEK * (history_weeks - 1)).timestamp())
    ts, label = MentionBrandRow.created_ts, MentionRow.sentiment_label

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

    now, before = ts >= start_ts, ts < start_ts
    rows = session.execute(
        select(
            count(now),
            count(now, label == "negative"),
            count(now, label == "positive"),
            count(before),
            count(before, label == "negative"),
            count(before, label == "positive"),
            func.min(ts),
        )
        .select_from(MentionRow)
        .join(MentionBrandRow, MentionRow.id == MentionBrandRow.mention_id)
        .where(
            MentionBrandRow.brand == brand,
            ts >= window_ts,
            ts < end_ts,
            MentionRow.author_handle.is_not(None),
            MentionRow.author_handle != "",
        )
        .group_by(MentionRow.source, MentionRow.author_handle)
        .having(func.sum(case((now, 1), else_=0)) > 0)
    ).all()
    return [AuthorHistory(*(int(v) for v in row)) for row in rows]


def _week_segments(
    session: Session, brand: str, week_start: datetime, week_end: datetime, history_weeks: int
) -> dict[str, int]:
    counts = dict.fromkeys(SEGMENTS, 0)
    start_ts = int(week_start.timestamp())
    for a in _histories(session, brand, week_start, week_end, history_weeks):
        segment = segment_of(a, start_ts, history_weeks)
        if segment is not None:
            counts[segment] += 1
    return counts


def author_segments(
    session: Session,
    brand: str,
    week_start: datetime,
    week_end: datetime,
    history_weeks: int = 8,
) -> dict[str, tuple[int, int]]:
    """Segment → (authors in it this week, authors in it the week before).

    Among authors with a handle active in [week_start, week_end), over a window of
    `history_weeks` weeks ending with this one:
    at_risk: non-negative on balance before this week, negative on balance this week;
    detractors: 2+ mentions, at least 2/3 negative;
    promoters: 2+ mentions, at least 2/3 positive and none negative;
    growing: first seen (in the window) in the last 2 weeks, or this week's mentions at least double
    their weekly average before.
    """
    if history_weeks < 1:
        raise ValueError("history_weeks must be at least 1")
    now = _week_segments(session, brand, week_start, week_end, history_weeks)
    before = _week_segments(session, brand, week_start - WEEK, week_end - WEEK, history_weeks)
    return {s: (now[s], before[s]) for s in SEGMENTS}
