"""What a weekly digest shows, as frozen dataclasses: no SQL here, and no rendering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


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
    historical: bool = False  # computed afterwards from backfilled history, never notified


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


def worst_first(mover: Mover) -> tuple[bool, float, int, str]:
    """Sort key: the biggest rise in negative share first, movers without a change last."""
    return (mover.change is None, -(mover.change or 0.0), -mover.mentions, mover.name)
