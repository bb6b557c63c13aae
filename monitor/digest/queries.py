"""The weekly digest's SQL, a grouped query per section, on SQLite or PostgreSQL.

Mention bounds are integer epoch seconds against `mention_brands.created_ts`, which the
(brand, created_ts) index serves; alerts are bounded by their `started_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal_column, select
from sqlalchemy.orm import Session

from monitor.digest.figures import Incident, Mover, Voice, worst_first
from monitor.digest.weeks import utc_at
from monitor.storage.schema import AlertRow, MentionBrandRow, MentionRow, MentionTouchpointRow

VOICES = 10
# Alerts about collection, not about sentiment: left out of the digest.
SOURCE_DOWN_PREFIX = "source_down"
FIRED_STATUSES = ("firing", "resolved")


def _bucket(starts: Sequence[int]) -> ColumnElement[int]:
    """Index of the range in `starts` a mention falls in (the caller bounds the last one)."""
    whens = [(MentionBrandRow.created_ts < bound, k) for k, bound in enumerate(starts[1:])]
    return case(*whens, else_=len(starts) - 1).label("bucket")


def _branded(columns: Sequence[Any], brand: str, start: int, end: int) -> Select[Any]:
    """`columns` of the brand's mentions created in [start, end)."""
    statement = select(*columns).select_from(MentionBrandRow)
    statement = statement.join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
    return statement.where(
        MentionBrandRow.brand == brand,
        MentionBrandRow.created_ts >= start,
        MentionBrandRow.created_ts < end,
    )


def _count(label: str) -> ColumnElement[int]:
    return func.sum(case((MentionRow.sentiment_label == label, 1), else_=0))


def label_counts(
    session: Session, brand: str, starts: Sequence[int], end: int
) -> list[tuple[int, int, int]]:
    """(negative, neutral, positive) per range of `starts`, in one grouped query."""
    bucket = _bucket(starts)
    # GROUP BY the alias: PostgreSQL would not match a repeated CASE with new parameters.
    statement = _branded(
        [bucket, _count("negative"), _count("neutral"), _count("positive")],
        brand,
        starts[0],
        end,
    ).group_by(literal_column("bucket"))
    found = {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in session.execute(statement)}
    return [found.get(k, (0, 0, 0)) for k in range(len(starts))]


def _author_key() -> ColumnElement[str]:
    # Handles are per platform: "ana" on Reddit is not "ana" on X.
    return MentionRow.source + ":" + MentionRow.author_handle


def unique_authors(
    session: Session, brand: str, prev_start: int, start: int, end: int
) -> tuple[int, int]:
    """Distinct authors of the brand's mentions last week and this week."""
    bucket = _bucket([prev_start, start])
    statement = _branded(
        [bucket, func.count(func.distinct(_author_key()))], brand, prev_start, end
    ).group_by(literal_column("bucket"))
    found = {row[0]: int(row[1]) for row in session.execute(statement)}
    return found.get(0, 0), found.get(1, 0)


def _alert_filter(brand: str) -> list[ColumnElement[bool]]:
    return [
        AlertRow.brand == brand,
        AlertRow.status.in_(FIRED_STATUSES),
        AlertRow.rule.not_like(f"{SOURCE_DOWN_PREFIX}%"),
    ]


def alerts_fired(
    session: Session, brand: str, prev_start: int, start: int, end: int
) -> tuple[int, int]:
    """Sentiment alerts that started last week and this week."""
    counts = []
    for low, high in ((prev_start, start), (start, end)):
        statement = select(func.count()).where(
            *_alert_filter(brand),
            AlertRow.started_at >= utc_at(low),
            AlertRow.started_at < utc_at(high),
        )
        counts.append(int(session.scalar(statement) or 0))
    return counts[0], counts[1]


def movers(
    session: Session, brand: str, name: Any, prev_start: int, start: int, end: int
) -> tuple[Mover, ...]:
    """Mentions and negative share per `name` this week and last, worst movers first."""
    bucket = _bucket([prev_start, start])
    statement = _branded([bucket, name, func.count(), _count("negative")], brand, prev_start, end)
    if name is MentionTouchpointRow.touchpoint:
        statement = statement.join(
            MentionTouchpointRow, MentionTouchpointRow.mention_id == MentionBrandRow.mention_id
        )
    statement = statement.group_by(literal_column("bucket"), name)
    weeks: dict[str, list[tuple[int, int]]] = {}
    for week, key, total, negative in session.execute(statement):
        weeks.setdefault(key, [(0, 0), (0, 0)])[week] = (int(total), int(negative))
    found = []
    for key, ((prev_total, prev_neg), (total, negative)) in weeks.items():
        share = negative / total if total else None
        before = prev_neg / prev_total if prev_total else None
        change = share - before if share is not None and before is not None else None
        found.append(Mover(key, total, share, before, change))
    found.sort(key=worst_first)
    return tuple(found)


def incidents(session: Session, brand: str, start: int, end: int) -> tuple[Incident, ...]:
    """Sentiment alerts that started in [start, end), oldest first; historical ones too."""
    statement = (
        select(AlertRow)
        .where(
            *_alert_filter(brand),
            AlertRow.started_at >= utc_at(start),
            AlertRow.started_at < utc_at(end),
        )
        .order_by(AlertRow.started_at, AlertRow.id)
    )
    found = []
    for row in session.scalars(statement):
        duration = None
        if row.resolved_at is not None:
            duration = int((row.resolved_at - row.started_at).total_seconds() // 60)
        found.append(
            Incident(
                row.rule,
                row.severity,
                row.started_at,
                row.resolved_at,
                duration,
                row.peak_negative,
                historical=row.historical,
            )
        )
    return tuple(found)


def voices(
    session: Session, brand: str, start: int, end: int, own_accounts: Sequence[str] = ()
) -> tuple[Voice, ...]:
    """The VOICES authors with the most reach in [start, end), the brand's own left out."""
    statement = _voices_statement(brand, start, end, own_accounts)
    return tuple(_voice(row) for row in session.execute(statement))


def _voices_statement(brand: str, start: int, end: int, own_accounts: Sequence[str]) -> Select[Any]:
    followers = func.max(MentionRow.author_followers)
    engagement = func.sum(MentionRow.likes + MentionRow.reposts + MentionRow.replies)
    # Reach is followers where the platform tells them, else what the posts drew.
    reach = func.coalesce(followers, engagement)
    columns = [
        MentionRow.source,
        MentionRow.author_handle,
        func.max(MentionRow.author_name),
        followers,
        engagement,
        func.count(),
        _count("negative"),
        _count("neutral"),
        _count("positive"),
    ]
    return (
        _branded(columns, brand, start, end)
        .where(MentionRow.author_handle.is_not(None))
        .where(
            *(
                ~func.lower(MentionRow.author_handle).contains(name.lower(), autoescape=True)
                for name in own_accounts
            )
        )
        .group_by(MentionRow.source, MentionRow.author_handle)
        .order_by(reach.desc(), func.count().desc(), MentionRow.source, MentionRow.author_handle)
        .limit(VOICES)
    )


def _voice(row: Sequence[Any]) -> Voice:
    source, handle, name, most, engaged, total, neg, neu, pos = row
    engaged = int(engaged or 0)
    return Voice(
        source=source,
        handle=handle,
        name=name,
        followers=None if most is None else int(most),
        engagement=engaged,
        reach=int(most) if most is not None else engaged,
        mentions=int(total),
        negative=int(neg),
        neutral=int(neu),
        positive=int(pos),
    )
