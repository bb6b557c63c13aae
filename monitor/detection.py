"""Spike detection over bucketed counts, behind a one-method interface.

The first rule compares the last window's negative count with the same window on
earlier days (median and MAD, so that earlier spikes do not poison the baseline), and
asks that the negative share be clearly above its usual level, so that a volume spike
of praise never pages anyone.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from monitor.events import Severity
from monitor.settings import DetectorSettings

DAY = 86_400

# (total, negative) per bucket index, where index = epoch seconds // bucket seconds.
Counts = dict[int, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule concluded for one brand at one moment, with the numbers behind it."""

    rule: str
    firing: bool
    severity: Severity | None
    window_start: datetime
    window_end: datetime
    observed_negative: int
    observed_total: int
    expected_negative: float
    expected_total: float
    negative_share: float
    usual_share: float
    z: float
    reason: str


class Detector(Protocol):
    """A rule evaluated on a brand's bucket counts at `now`."""

    rule: str

    def lookback(self) -> timedelta:
        """How much history before `now` the rule needs."""
        ...

    def evaluate(self, counts: Counts, now: datetime) -> Finding:
        """Judge the window ending at `now`."""
        ...


class NegativeSpikeRule:
    """Fires on a burst of negative mentions that is both large and unusually negative."""

    rule = "negative_spike"

    def __init__(self, settings: DetectorSettings) -> None:
        self.s = settings
        self.bucket = settings.bucket_minutes * 60
        self.width = settings.window_minutes // settings.bucket_minutes

    def lookback(self) -> timedelta:
        """The baseline days plus one window."""
        return timedelta(days=self.s.baseline_days, minutes=self.s.window_minutes)

    def _window(self, counts: Counts, last: int) -> tuple[int, int]:
        total = negative = 0
        for index in range(last - self.width + 1, last + 1):
            t, n = counts.get(index, (0, 0))
            total, negative = total + t, negative + n
        return total, negative

    def evaluate(self, counts: Counts, now: datetime) -> Finding:
        """Judge the window that ends with the bucket holding `now`."""
        last = int(now.timestamp()) // self.bucket
        first = last - self.width + 1
        total, negative = self._window(counts, last)
        earliest = min((i for i, (t, _) in counts.items() if t and i < first), default=None)
        per_day = DAY // self.bucket
        baseline = [
            self._window(counts, last - d * per_day)
            for d in range(1, self.s.baseline_days + 1)
            if earliest is not None and last - d * per_day - self.width + 1 >= earliest
        ]
        hist_total = sum(t for i, (t, _) in counts.items() if i < first)
        hist_negative = sum(n for i, (_, n) in counts.items() if i < first)
        usual_share = hist_negative / hist_total if hist_total else 0.0
        share = negative / total if total else 0.0
        expected_neg = statistics.median(n for _, n in baseline) if baseline else 0.0
        expected_total = statistics.median(t for t, _ in baseline) if baseline else 0.0
        z, firing, reason = self._judge(negative, share, usual_share, baseline, expected_neg)
        severity: Severity | None = None
        if firing:
            severity = "critical" if z >= self.s.z_critical else "warning"
        return Finding(
            rule=self.rule,
            firing=firing,
            severity=severity,
            window_start=datetime.fromtimestamp(first * self.bucket, UTC),
            window_end=min(now, datetime.fromtimestamp((last + 1) * self.bucket, UTC)),
            observed_negative=negative,
            observed_total=total,
            expected_negative=float(expected_neg),
            expected_total=float(expected_total),
            negative_share=share,
            usual_share=usual_share,
            z=z,
            reason=reason,
        )

    def _judge(
        self,
        negative: int,
        share: float,
        usual_share: float,
        baseline: list[tuple[int, int]],
        expected: float,
    ) -> tuple[float, bool, str]:
        if negative < self.s.min_count:
            return 0.0, False, f"{negative} negatives, below min_count {self.s.min_count}"
        if share < usual_share + self.s.share_margin:
            return 0.0, False, f"negative share {share:.0%} is not above usual {usual_share:.0%}"
        if not baseline:
            # Cold start: no earlier day to compare with, so only a large absolute burst fires.
            fired = negative >= self.s.cold_start_min_count
            return 0.0, fired, f"cold start: {negative} negatives, absolute threshold"
        values = [n for _, n in baseline]
        mad = statistics.median(abs(v - expected) for v in values)
        scale = max(1.4826 * mad, math.sqrt(expected), 1.0)
        z = (negative - expected) / scale
        if negative - expected < self.s.min_excess:
            return z, False, f"only {negative - expected:.0f} above the usual {expected:.0f}"
        if z < self.s.z_warning:
            return z, False, f"z {z:.1f} below {self.s.z_warning}"
        return z, True, f"z {z:.1f} over a {len(baseline)}-day baseline"
