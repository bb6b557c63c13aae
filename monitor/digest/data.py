"""The figures of a brand's weekly digest, aggregated on the database (SQLite or PostgreSQL).

Weeks are ISO weeks in a local time zone (see `monitor.digest.weeks`); the SQL of each
section is in `monitor.digest.queries`, and what comes out in `monitor.digest.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from monitor.digest import queries
from monitor.digest.figures import DayCounts, Headline, WeekDigest, WeekFigures, WeekNet
from monitor.digest.weeks import midnight_epoch, parse_week, utc_at, week_label
from monitor.storage.schema import MentionRow, MentionTouchpointRow

WEEKS_OF_TREND = 8


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
    starts = [midnight_epoch(d, zone) for d in mondays[:-1] + days]
    end = midnight_epoch(monday + timedelta(weeks=1), zone)
    mix = queries.label_counts(session, brand, starts, end)
    prev_start, week_start = starts[WEEKS_OF_TREND - 2], starts[WEEKS_OF_TREND - 1]
    weekly = _weekly(mix)
    return WeekDigest(
        brand=brand,
        week=week,
        tz=tz,
        start=utc_at(week_start),
        end=utc_at(end),
        headline=_headline(session, brand, weekly, prev_start, week_start, end),
        daily=tuple(DayCounts(day, *mix[WEEKS_OF_TREND - 1 + d]) for d, day in enumerate(days)),
        net_sentiment_weeks=tuple(
            WeekNet(week_label(m), sum(counts), _net(counts))
            for m, counts in zip(mondays, weekly, strict=True)
        ),
        by_source=queries.movers(session, brand, MentionRow.source, prev_start, week_start, end),
        by_touchpoint=queries.movers(
            session, brand, MentionTouchpointRow.touchpoint, prev_start, week_start, end
        ),
        incidents=queries.incidents(session, brand, week_start, end),
        voices=queries.voices(session, brand, week_start, end, own_accounts),
    )


def _weekly(mix: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Counts per trend week: the earlier weeks as they are, then this week's days summed."""
    days = mix[WEEKS_OF_TREND - 1 :]
    this_week = (sum(d[0] for d in days), sum(d[1] for d in days), sum(d[2] for d in days))
    return [*mix[: WEEKS_OF_TREND - 1], this_week]


def _headline(
    session: Session,
    brand: str,
    weekly: Sequence[tuple[int, int, int]],
    prev_start: int,
    week_start: int,
    end: int,
) -> Headline:
    authors = queries.unique_authors(session, brand, prev_start, week_start, end)
    alerts = queries.alerts_fired(session, brand, prev_start, week_start, end)
    current = _figures(weekly[-1], authors[1], alerts[1])
    previous = _figures(weekly[-2], authors[0], alerts[0])
    return Headline(current, previous, _difference(current, previous))


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
