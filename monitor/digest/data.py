"""The figures of a brand's weekly digest, aggregated on the database (SQLite or PostgreSQL).

Weeks are ISO weeks in a local time zone: Monday 00:00 to the next Monday 00:00 there.
Every bound is computed in Python with zoneinfo (so DST weeks of 167 or 169 hours come
out right) and passed as integer epoch-second parameters against
`mention_brands.created_ts`, which the (brand, created_ts) index serves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, func, literal_column, select
from sqlalchemy.orm import Session

from monitor.storage.schema import AlertRow, MentionBrandRow, MentionRow, MentionTouchpointRow

WEEKS_OF_TREND = 8
VOICES = 10
# Alerts about collection, not about sentiment: left out of the digest.
SOURCE_DOWN_PREFIX = "source_down"
FIRED_STATUSES = ("firing", "resolved")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One week's headline: volume, authors, sentiment mix and alerts fired."""

    mentions: int
    unique_authors: int
    negative: int
    neutral: int
    positive: int
    negative_share: float
    neutral_share: float
    positive_share: float
    net_sentiment: int
    alerts_fired: int


@dataclass(frozen=True, slots=True)
class Headline:
    """This week, the previous one, and the difference (this minus previous) per figure."""

    current: WeekFigures
    previous: WeekFigures
    change: WeekFigures


@dataclass(frozen=True, slots=True)
class DayCounts:
    """Sentiment counts of one local day."""

    day: date
    negative: int
    neutral: int
    positive: int


@dataclass(frozen=True, slots=True)
class WeekNet:
    """One week of the net-sentiment trend; `net_sentiment` is None without mentions."""

    week: str
    mentions: int
    net_sentiment: int | None


@dataclass(frozen=True, slots=True)
class Mover:
    """A source or touchpoint: volume and how its negative share moved since last week."""

    name: str
    mentions: int
    negative_share: float | None
    previous_negative_share: float | None
    change: float | None


@dataclass(frozen=True, slots=True)
class Incident:
    """An alert that started this week; duration and resolution are None while open."""

    rule: str
    severity: str
    started_at: datetime
    resolved_at: datetime | None
    duration_minutes: int | None
    peak_negative: int


@dataclass(frozen=True, slots=True)
class Voice:
    """An author with the most reach this week (followers, else engagement)."""

    source: str
    handle: str
    name: str | None
    followers: int | None
    engagement: int
    reach: int
    mentions: int
    negative: int
    neutral: int
    positive: int


@dataclass(frozen=True, slots=True)
class WeekDigest:
    """Everything a weekly digest shows for one brand and one ISO week."""

    brand: str
    week: str
    tz: str
    start: datetime
    end: datetime
    headline: Headline
    daily: tuple[DayCounts, ...]
    net_sentiment_weeks: tuple[WeekNet, ...]
    by_source: tuple[Mover, ...]
    by_touchpoint: tuple[Mover, ...]
    incidents: tuple[Incident, ...]
    voices: tuple[Voice, ...]


def week_digest(
    session: Session,
    brand: str,
    week: str,
    tz: str = "UTC",
    own_accounts: Sequence[str] = (),
) -> WeekDigest:
    """The digest figures of `brand` for ISO `week` ("2026-W47") in time zone `tz`.

    Voices leave out authors whose handle contains one of `own_accounts` (the brand's
    name: its own support and country accounts are not what people say about it).
    """
    zone = ZoneInfo(tz)
    monday = parse_week(week)
    mondays = [monday - timedelta(weeks=k) for k in range(WEEKS_OF_TREND - 1, -1, -1)]
    days = [monday + timedelta(days=d) for d in range(7)]
    # Bounds: the 7 earlier weeks, then the 7 days of this week, then its end.
    starts = [_epoch(d, zone) for d in mondays[:-1] + days]
    end = _epoch(monday + timedelta(weeks=1), zone)
    mix = _label_counts(session, brand, starts, end)
    prev_start, week_start = starts[WEEKS_OF_TREND - 2], starts[WEEKS_OF_TREND - 1]
    authors = _unique_authors(session, brand, prev_start, week_start, end)
    alerts = _alerts_fired(session, brand, prev_start, week_start, end)

    weekly = [mix[k] for k in range(WEEKS_OF_TREND - 1)]
    this_week = [sum(mix[k][i] for k in range(WEEKS_OF_TREND - 1, len(starts))) for i in range(3)]
    weekly.append((this_week[0], this_week[1], this_week[2]))
    current = _figures(weekly[-1], authors[1], alerts[1])
    previous = _figures(weekly[-2], authors[0], alerts[0])
    return WeekDigest(
        brand=brand,
        week=week,
        tz=tz,
        start=_aware(week_start),
        end=_aware(end),
        headline=Headline(current, previous, _difference(current, previous)),
        daily=tuple(DayCounts(day, *mix[WEEKS_OF_TREND - 1 + d]) for d, day in enumerate(days)),
        net_sentiment_weeks=tuple(
            WeekNet(_label(m), sum(counts), _net(counts))
            for m, counts in zip(mondays, weekly, strict=True)
        ),
        by_source=_movers(session, brand, MentionRow.source, prev_start, week_start, end),
        by_touchpoint=_movers(
            session, brand, MentionTouchpointRow.touchpoint, prev_start, week_start, end
        ),
        incidents=_incidents(session, brand, week_start, end),
        voices=_voices(session, brand, week_start, end, own_accounts),
    )


def parse_week(week: str) -> date:
    """The Monday of an ISO week written "YYYY-Www"."""
    match = _WEEK.match(week)
    if not match:
        raise ValueError(f"week {week!r} is not an ISO week like 2026-W47")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValueError(f"week {week!r} does not exist: {exc}") from None


def _epoch(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp())


def _aware(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _label(monday: date) -> str:
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


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


def _label_counts(
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


def _unique_authors(
    session: Session, brand: str, prev_start: int, start: int, end: int
) -> tuple[int, int]:
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


def _alerts_fired(
    session: Session, brand: str, prev_start: int, start: int, end: int
) -> tuple[int, int]:
    counts = []
    for low, high in ((prev_start, start), (start, end)):
        statement = select(func.count()).where(
            *_alert_filter(brand),
            AlertRow.started_at >= _aware(low),
            AlertRow.started_at < _aware(high),
        )
        counts.append(int(session.scalar(statement) or 0))
    return counts[0], counts[1]


def _share(part: int, total: int) -> float:
    return part / total if total else 0.0


def _net(counts: Sequence[int]) -> int | None:
    total = sum(counts)
    if not total:
        return None
    return round((_share(counts[2], total) - _share(counts[0], total)) * 100)


def _figures(counts: Sequence[int], authors: int, alerts: int) -> WeekFigures:
    negative, neutral, positive = counts
    total = negative + neutral + positive
    return WeekFigures(
        mentions=total,
        unique_authors=authors,
        negative=negative,
        neutral=neutral,
        positive=positive,
        negative_share=_share(negative, total),
        neutral_share=_share(neutral, total),
        positive_share=_share(positive, total),
        net_sentiment=_net(counts) or 0,
        alerts_fired=alerts,
    )


def _difference(current: WeekFigures, previous: WeekFigures) -> WeekFigures:
    values = {
        name: getattr(current, name) - getattr(previous, name)
        for name in WeekFigures.__dataclass_fields__
    }
    return WeekFigures(**values)


def _movers(
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
    movers = []
    for key, ((prev_total, prev_neg), (total, negative)) in weeks.items():
        share = negative / total if total else None
        before = prev_neg / prev_total if prev_total else None
        change = share - before if share is not None and before is not None else None
        movers.append(Mover(key, total, share, before, change))
    movers.sort(key=lambda m: (m.change is None, -(m.change or 0.0), -m.mentions, m.name))
    return tuple(movers)


def _incidents(session: Session, brand: str, start: int, end: int) -> tuple[Incident, ...]:
    statement = (
        select(AlertRow)
        .where(
            *_alert_filter(brand),
            AlertRow.started_at >= _aware(start),
            AlertRow.started_at < _aware(end),
        )
        .order_by(AlertRow.started_at, AlertRow.id)
    )
    incidents = []
    for row in session.scalars(statement):
        duration = None
        if row.resolved_at is not None:
            duration = int((row.resolved_at - row.started_at).total_seconds() // 60)
        incidents.append(
            Incident(
                row.rule, row.severity, row.started_at, row.resolved_at, duration, row.peak_negative
            )
        )
    return tuple(incidents)


def _voices(
    session: Session, brand: str, start: int, end: int, own_accounts: Sequence[str] = ()
) -> tuple[Voice, ...]:
    followers = func.max(MentionRow.author_followers)
    engagement = func.sum(MentionRow.likes + MentionRow.reposts + MentionRow.replies)
    reach = func.coalesce(followers, engagement)
    statement = (
        _branded(
            [
                MentionRow.source,
                MentionRow.author_handle,
                func.max(MentionRow.author_name),
                followers,
                engagement,
                func.count(),
                _count("negative"),
                _count("neutral"),
                _count("positive"),
            ],
            brand,
            start,
            end,
        )
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
    voices = []
    for source, handle, name, most, engaged, total, neg, neu, pos in session.execute(statement):
        engaged = int(engaged or 0)
        voices.append(
            Voice(
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
        )
    return tuple(voices)
