"""ISO weeks in a local time zone: "2026-W47" to its Monday, and local midnights to epoch seconds.

A week runs from Monday 00:00 to the next Monday 00:00 in its time zone. Bounds are
computed with zoneinfo, so DST weeks of 167 or 169 hours come out right.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(week: str) -> date:
    """The Monday of an ISO week written "YYYY-Www"."""
    match = _WEEK.match(week)
    if not match:
        raise ValueError(f"week {week!r} is not an ISO week like 2026-W47")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValueError(f"week {week!r} does not exist: {exc}") from None


def week_label(day: date) -> str:
    """The ISO week `day` falls in, written "YYYY-Www"."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def week_number(week: str) -> int:
    """The number of an ISO week written "YYYY-Www" (47 for "2026-W47")."""
    return parse_week(week).isocalendar()[1]


def midnight_epoch(day: date, zone: ZoneInfo) -> int:
    """`day` at 00:00 in `zone`, as epoch seconds."""
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp())


def utc_at(ts: int) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)
