"""What one brand's detection tick reads: its bucket counts and open incidents at once,
then each window's negative mentions once, however many of the tick's events show them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from monitor.storage.alerts import AlertRecord, open_alerts
from monitor.storage.mentions import StoredMention, bucket_counts, negative_count, negatives_between


@dataclass(frozen=True, slots=True)
class TickData:
    """A brand's bucket counts over the rules' lookback and its open incidents by rule."""

    counts: dict[int, tuple[int, int]]  # (total, negative) per bucket index
    alerts: dict[str, AlertRecord]


def load_tick(
    session: Session,
    brand: str,
    rules: Sequence[str],
    start: datetime,
    end: datetime,
    bucket_seconds: int,
) -> TickData:
    """Bucket counts in [start, end) and the open alerts of `rules`: one query each."""
    return TickData(
        counts=bucket_counts(session, brand, start, end, bucket_seconds),
        alerts=open_alerts(session, brand, rules),
    )


@dataclass
class TickReader:
    """The mentions a tick's events show: each window is read once, then shared."""

    session: Session
    brand: str
    _negatives: dict[tuple[datetime, datetime], list[StoredMention]] = field(
        default_factory=dict, init=False, repr=False
    )

    def negatives(self, start: datetime, end: datetime) -> list[StoredMention]:
        """The window's negative mentions, most engaging first (do not modify the list)."""
        key = (start, end)
        if key not in self._negatives:
            self._negatives[key] = negatives_between(self.session, self.brand, start, end)
        return self._negatives[key]

    def negative_total(self, start: datetime, end: datetime) -> int:
        """How many negative mentions [start, end) holds (an incident's whole life)."""
        return negative_count(self.session, self.brand, start, end)
