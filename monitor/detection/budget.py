"""A rule judged against the brand's own noise and its alert budget.

Two tests, each calibrated on the brand's daily peaks (`calibration.py`): the z of the
bucket, which fires within a bucket on a large burst, and the CUSUM of it, which fires
on a ramp too slow for any single bucket. The z is the seasonal z of the volume
(`volume_spike`) or the beta-binomial z of the negatives given the volume
(`negative_spike`). Every position gets its thresholds from the days before its own, so
a live tick and a backtest of the same counts agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.detection.calibration import (
    CALIBRATION_DAYS,
    CUSUM_DRIFT,
    CUSUM_SPAN_SECONDS,
    Memo,
    Scores,
    Threshold,
    day_digest,
    day_of,
    digest,
    season_lags,
    seasonal_z,
    threshold,
    with_cusum,
)
from monitor.detection.series import DAY, Array, Series, Sums, Tallies, prefix, usual_share
from monitor.detection.share_noise import share_scores
from monitor.detection.verdicts import Window
from monitor.settings import DetectorSettings, NegativeRuleSettings, RuleSettings

# The CUSUM keeps an incident going only while the bucket itself is above usual (z at
# least this): once the ramp is over the incident calms instead of waiting for the sum
# to drain. It opens one only on a fresh crossing of its threshold (within the last
# CUSUM_FRESH_SECONDS), so a sum that stays high does not open incident after incident.
CUSUM_LIVE_Z = 1.0
CUSUM_FRESH_SECONDS = 3600
CRITICAL_RATIO = 2.0
CALM_FLOOR = 1.5
SHARE_RATIO = 1.25


@dataclass(frozen=True, slots=True)
class Calibrated:
    """The thresholds of both tests at each judged position."""

    z: list[Threshold]
    cusum: list[Threshold]


class BudgetJudge:
    """Judges one series at given positions with two calibrated tests: its volume
    (`metric` "volume"), or its negatives given its volume ("negative")."""

    def __init__(
        self,
        settings: DetectorSettings,
        params: RuleSettings,
        budget: float,
        metric: str = "volume",
    ) -> None:
        self.metric = metric
        self.settings = settings
        self.params = params
        self.budget = budget
        self.bucket = settings.bucket_minutes * 60
        self.span = max(1, CUSUM_SPAN_SECONDS // self.bucket)
        self.memo: Memo[tuple[float, float]] = Memo()
        self.dispersion: Memo[float] = Memo()

    def history_seconds(self) -> int:
        """Counts before the first judged bucket that the judgement needs."""
        longest = int(season_lags(self.bucket).max()) + 2 * self.span
        return (CALIBRATION_DAYS + 1) * DAY + longest * self.bucket

    def scores(
        self,
        counts: Counts,
        p: Array,
        first: int,
        fraction: Array | float,
        stretches: bool = True,
    ) -> Scores:
        """z and CUSUM at the consecutive positions `p`, and before them over a whole
        CUSUM stretch (`span` - 1 buckets, each with its own CUSUM, which reaches as far
        again): the result's last len(p) rows are `p`'s. Without `stretches`, where each
        CUSUM stretch starts is not worked out (the peaks need only the sums), and the
        run reaches back one CUSUM span only."""
        lo = max(0, int(p[0]) - (2 if stretches else 1) * (self.span - 1))
        run = np.arange(lo, int(p[-1]) + 1)
        part = np.ones(len(run))
        part[len(run) - len(p) :] = fraction
        if self.metric == "negative":  # a bucket without mentions says nothing of a share
            z = share_scores(
                counts.total,
                counts.negative,
                run,
                first,
                self.bucket,
                counts.start,
                self.dispersion,
            )
            return with_cusum(z, run, self.span, counts.total[run] > 0, stretches)
        z = seasonal_z(counts.total, run, first, self.bucket, part)
        return with_cusum(z, run, self.span, stretches=stretches)

    def day_peaks(
        self, counts: Counts, first: int, days: list[int]
    ) -> dict[int, tuple[float, float]]:
        """The largest z and CUSUM of each UTC day of `days` (NaN for a day without scores).

        Days already computed come from the memo, keyed by the counts they depend on (the
        day and the season and CUSUM reach before it); the others are computed in one run.
        """
        per_day = DAY // self.bucket
        reach = int(season_lags(self.bucket).max()) + self.span
        own: dict[int, bytes] = {}  # digest of each day's own counts

        def own_digest(day: int) -> bytes:
            if day not in own:
                own[day] = day_digest(counts.total, counts.negative, day, per_day, counts.start)
            return own[day]

        found: dict[int, tuple[float, float]] = {}
        missing: dict[int, tuple[object, ...]] = {}
        for day in days:
            begin = day * per_day - counts.start
            lo, hi = max(0, begin), min(len(counts.total) - 1, begin + per_day - 1)
            if hi < lo or hi < first:
                found[day] = (float("nan"), float("nan"))
                continue
            since = max(0, lo - reach)
            covering = range((counts.start + since) // per_day, day + 1)
            bounds = np.array([counts.start + since, counts.start + max(first, since), day])
            # One short key per day (a few dozen bytes), however many days it depends on.
            key: tuple[object, ...] = (day, digest(bounds, *(own_digest(d) for d in covering)))
            peak = self.memo.get(key)
            if peak is None:
                missing[day] = key
            else:
                found[day] = peak
        if missing:
            found.update(self._compute_peaks(counts, first, missing))
        return found

    def _compute_peaks(
        self, counts: Counts, first: int, missing: dict[int, tuple[object, ...]]
    ) -> dict[int, tuple[float, float]]:
        """Peaks of the `missing` days from one run over all of them, kept in the memo."""
        per_day, base = DAY // self.bucket, counts.start
        lo = max(0, min(missing) * per_day - base)
        hi = min(len(counts.total) - 1, (max(missing) + 1) * per_day - 1 - base)
        run = self.scores(counts, np.arange(lo, hi + 1), first, 1.0, stretches=False)
        z, cusum = run.z[-(hi - lo + 1) :], run.cusum[-(hi - lo + 1) :]
        days = (base + np.arange(lo, hi + 1)) // per_day
        computed: dict[int, tuple[float, float]] = {}
        for day, key in missing.items():
            rows = days == day
            zs = z[rows]
            peak = (
                (float("nan"), float("nan"))
                if not len(zs) or np.all(np.isnan(zs))
                else (float(np.nanmax(zs)), float(np.max(cusum[rows])))
            )
            self.memo.put(key, peak)
            computed[day] = peak
        return computed

    def calibrate(self, counts: Counts, first: int, p: Array) -> Calibrated:
        """Each position's thresholds, from the daily peaks of the days before its own."""
        days = day_of(p, counts.start, self.bucket)
        unique = np.unique(days).tolist()
        wanted = sorted({d for day in unique for d in range(day - CALIBRATION_DAYS, day)})
        peaks = self.day_peaks(counts, first, wanted)
        robust = self.metric == "negative"
        by_day: dict[int, tuple[Threshold, Threshold]] = {}
        for day in unique:
            before = [peaks[d] for d in range(day - CALIBRATION_DAYS, day)]
            by_day[day] = (
                threshold(np.array([peak[0] for peak in before]), self.budget, "z", robust),
                threshold(np.array([peak[1] for peak in before]), self.budget, "cusum", robust),
            )
        return Calibrated(
            [by_day[d][0] for d in days.tolist()], [by_day[d][1] for d in days.tolist()]
        )

    def windows(
        self, series: Series, tallies: Tallies, p: Array, fraction: float, active: Array
    ) -> list[Window]:
        """The z window and the CUSUM window (since its stretch began) at `p`; `tallies`
        are the series' own, with the prefix sums both windows count from."""
        counts = Counts.of(series)
        first = tallies.first
        run = self.scores(counts, p, first, _fractions(len(p), fraction))
        offset = len(run.z) - len(p)  # rows of `run` before p[0]
        calibrated = self.calibrate(counts, first, p)
        fresh = self._fresh(run, p, offset, calibrated)
        scores = Scores(
            run.z[offset:], run.cusum[offset:], run.since[offset:], run.expected[offset:]
        )
        usual = usual_share(
            Sums(tallies, 1, fraction), p, self.settings.baseline_days, DAY // self.bucket
        )
        run_start = int(p[0]) - offset
        expected = prefix(run.expected)  # usual counts over any stretch of the run
        width = 1 if run.width is None else run.width[offset:]  # buckets the z test pooled
        begin = np.maximum(p - width + 1, run_start)
        pooled = expected[p - run_start + 1] - expected[begin - run_start]
        z_window = self._z_window(scores, calibrated, tallies, pooled, begin, usual, p, active)
        stretch = expected[p - run_start + 1] - expected[scores.since - run_start]
        c_window = self._cusum_window(scores, calibrated, tallies, stretch, usual, p, active, fresh)
        return [z_window, c_window]

    def _fresh(self, run: Scores, p: Array, offset: int, cal: Calibrated) -> Array:
        """Whether the CUSUM's current stretch first reached its threshold within the fresh
        span: a stretch that crossed earlier has had its say (or is still going on).

        `run` holds `offset` positions before the judged ones, with their CUSUM, reaching
        back the whole CUSUM span, so every stretch lies inside it.
        """
        fire_at = np.array([t.fire for t in cal.cusum])
        fresh_rows = max(1, CUSUM_FRESH_SECONDS // self.bucket)
        base = int(p[0]) - offset  # the run's first position
        fresh = np.ones(len(fire_at), dtype=bool)
        hot = np.flatnonzero(run.cusum[offset:] >= fire_at)
        for row in hot.tolist():
            here = offset + row
            start = int(run.since[here]) - base
            stop = here - fresh_rows + 1  # positions before the fresh span
            if stop > start and float(run.cusum[max(start, 0) : stop].max()) >= fire_at[row]:
                fresh[row] = False
        return fresh

    def _observed(self, tallies: Tallies, begin: Array, p: Array) -> tuple[Array, Array, Array]:
        """Mentions, negatives and the rule's own count over `begin`..`p` (inclusive)."""
        ct, cn = tallies.prefix["t"], tallies.prefix["n"]
        total, negative = ct[p + 1] - ct[begin], cn[p + 1] - cn[begin]
        return total, negative, negative if self.metric == "negative" else total

    def _calibrated(
        self, test: str, thresholds: list[Threshold], start: Array, fire_at: Array, active: Array
    ) -> dict[str, Any]:
        """The fields a calibrated test adds to its Window: where each window starts, the
        threshold it was judged against and how that was set."""
        notes = tuple(t.describe(self.budget) for t in thresholds)
        return {"start": start, "threshold": fire_at, "note": notes, "active": active, "test": test}

    def _usual(self, expected: Array, total: Array, usual: Array) -> dict[str, Array]:
        """The usual totals and negatives behind `expected` (the rule's metric)."""
        if self.metric == "negative":  # expected negatives given the total seen
            return {"expected_total": total, "expected_negative": expected}
        return {"expected_total": expected, "expected_negative": expected * usual}

    def _gates(self, observed: Array, expected: Array, total: Array, usual: Array) -> Array:
        """At least `min_count` and `min_excess`; for negatives, a share clearly above
        the usual one too (`share_margin` points and 1.25 times)."""
        big = (observed >= self.params.min_count) & (observed - expected >= self.params.min_excess)
        if not isinstance(self.params, NegativeRuleSettings):
            return big
        share = np.divide(observed, total, out=np.zeros(len(total)), where=total > 0)
        return big & (share >= np.maximum(usual + self.params.share_margin, usual * SHARE_RATIO))

    def _z_window(
        self,
        s: Scores,
        cal: Calibrated,
        tallies: Tallies,
        expected: Array,
        begin: Array,
        usual: Array,
        p: Array,
        active: Array,
    ) -> Window:
        """The z test's window: the bucket, or the buckets it pooled (`begin`..`p`)."""
        total, negative, count = self._observed(tallies, begin, p)
        fire_at = np.array([t.fire for t in cal.z])
        calm_at = np.array([max(CALM_FLOOR, t.calm) for t in cal.z])
        z = np.nan_to_num(s.z, nan=0.0)
        big = self._gates(count, expected, total, usual)
        firing = active & big & (z >= fire_at)
        elevated = active & (firing | ((z >= calm_at) & (count > expected)))
        critical = firing & (z >= CRITICAL_RATIO * fire_at)
        reason = np.select(
            [firing, np.isnan(s.z), ~big & (z >= fire_at), z >= fire_at],
            [7, 4, 1, 2],
            default=0,
        )
        return Window(
            buckets=1,
            observed=count,
            expected=expected,
            **self._usual(expected, total, usual),
            z=z,
            firing=firing,
            elevated=elevated,
            critical=critical,
            reason=reason,
            total=total,
            negative=negative,
            usual_share=usual,
            **self._calibrated("z", cal.z, begin, fire_at, active),
        )

    def _cusum_window(
        self,
        s: Scores,
        cal: Calibrated,
        tallies: Tallies,
        expected: Array,
        usual: Array,
        p: Array,
        active: Array,
        fresh: Array,
    ) -> Window:
        """The CUSUM test's window: its stretch (`s.since`..`p`)."""
        fire_at = np.array([t.fire for t in cal.cusum])
        total, negatives, observed = self._observed(tallies, s.since, p)
        live = np.nan_to_num(s.z, nan=0.0) >= CUSUM_LIVE_Z
        big = self._gates(observed, expected, total, usual)
        hot = s.cusum >= fire_at
        firing = active & big & hot & fresh & live
        critical = firing & (s.cusum >= CRITICAL_RATIO * fire_at)
        reason = np.select([firing, hot & ~big], [8, 1], default=0)
        return Window(
            buckets=1,
            observed=observed,
            expected=expected,
            **self._usual(expected, total, usual),
            z=s.cusum,
            firing=firing,
            elevated=firing | (active & hot & live),
            critical=critical,
            reason=reason,
            total=total,
            negative=negatives,
            usual_share=usual,
            **self._calibrated("cusum", cal.cusum, s.since, fire_at, active),
        )


@dataclass(frozen=True, slots=True)
class Counts:
    """A series' totals and negatives as floats, from bucket index `start` on."""

    start: int
    total: Array
    negative: Array

    @classmethod
    def of(cls, series: Series) -> Counts:
        """The counts of `series` (no negatives: zeros)."""
        total = series.total.astype(np.float64)
        negative = (
            series.negative.astype(np.float64)
            if series.negative is not None
            else np.zeros_like(total)
        )
        return cls(series.start, total, negative)


def _fractions(n: int, fraction: float) -> Array:
    """Every judged bucket whole but the last, which has seen `fraction` of its time."""
    part = np.ones(n)
    part[-1] = fraction
    return part


assert CUSUM_DRIFT < CUSUM_LIVE_Z  # a live bucket always adds evidence
