"""Numbers, dates, changes and untrusted text as the digest shows them, in one locale."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.digest.blocks import Cell
from monitor.digest.strings import strings_for
from monitor.kernel.display import visible

EXAMPLE_CHARS = 280
WORSE, BETTER, FLAT = "#b03a2e", "#2e7d32", "#777777"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class Format:
    """Numbers, dates and signs in one locale, without the process's system locale."""

    def __init__(self, locale: str, tz: str) -> None:
        self.locale, self.s = locale, strings_for(locale)
        self.zone = ZoneInfo(tz)

    def count(self, n: int) -> str:
        """A whole number with the locale's thousands separator."""
        digits = f"{abs(n):,}".replace(",", "." if self.locale == "es" else ",")
        return f"-{digits}" if n < 0 else digits

    def decimal(self, x: float) -> str:
        """One decimal place, with the locale's separators."""
        text = f"{abs(x):,.1f}"
        if self.locale == "es":
            text = text.translate(str.maketrans(",.", ".,"))
        return f"-{text}" if round(x, 1) < 0 else text

    def percent(self, share: float | None) -> str:
        """A share (0..1) as a percentage; a dash when there is none."""
        if share is None:
            return "—"
        return self.decimal(share * 100) + (" %" if self.locale == "es" else "%")

    def signed(self, n: int) -> str:
        """A whole number with its sign, + included."""
        return f"+{self.count(n)}" if n > 0 else self.count(n)

    def day(self, day: date, year: bool = False) -> str:
        """A date written out: weekday, day and month, and the year if asked."""
        text = self.s["date"].format(
            weekday=self.s["weekdays"].split()[day.weekday()],
            day=day.day,
            month=self.s["months"].split()[day.month - 1],
        )
        return self.s["with_year"].format(date=text, year=day.year) if year else text

    def moment(self, at: datetime) -> str:
        """A moment as the local date and time of day (naive means UTC)."""
        local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(self.zone)
        return f"{self.day(local.date())}, {local:%H:%M}"

    def duration(self, minutes: int | None) -> str:
        """Minutes as hours and minutes; a dash when there is none."""
        if minutes is None:
            return "—"
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if hours else f"{rest} min"

    def arrow(self, change: float, text: str, higher_is_worse: bool | None) -> Cell:
        """▲/▼ and the size of a change, red when it got worse and green when better."""
        if abs(change) < 1e-9:
            return Cell(f"= {text}", FLAT)
        color = (
            FLAT
            if higher_is_worse is None
            else (WORSE if (change > 0) == higher_is_worse else BETTER)
        )
        return Cell(f"{'▲' if change > 0 else '▼'} {text.lstrip('+-')}", color)


def one_line(text: str) -> str:
    """Control characters (CR, LF) out: a subject must not be able to add mail headers; and
    bidi overrides and invisible characters, which would make a post read other than it is."""
    return " ".join(visible(text).split())


def clip(text: str) -> str:
    """One line of at most EXAMPLE_CHARS characters, an ellipsis where it was cut."""
    text = one_line(text)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1].rstrip() + "…"


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no whitespace or control characters."""
    if url != url.strip() or _CONTROL.search(url) or " " in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    # A user part (`https://x.com@evil.example/`) hides the real host behind a known one.
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and "@" not in parts.netloc
    )
