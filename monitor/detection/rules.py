"""Spike detection over bucketed counts: one judge for the live daemon and for backtests.

For each 5-minute bucket a rule compares the count in the window ending there (15
minutes, and 1 hour so that low-volume brands are heard too) with the same window at
the same time of day on the previous days (hour-of-week once there are four weeks of
history). The baseline is the median of those windows and their neighbours, its scale
the MAD floored at √median and 1, so earlier spikes do not poison it and a quiet hour
does not make three posts look like a crisis. `negative_spike` also asks that the
negative share be significantly above its usual level (one-sided binomial test against
the share over the previous days), so that a volume spike of praise never pages anyone.

Everything is computed with numpy over whole series, so a live tick (the last bucket
of a brand) and a backtest (every bucket of a year) run the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

from monitor.kernel.events import Severity
from monitor.settings import DetectorSettings, NegativeRuleSettings, RuleSettings

DAY = 86_400
WEEK_DAYS = 7
WEEKS = 4
NEIGHBOUR_SECONDS = 900
COLD_MIN_HISTORY_HOURS = 2
COLD_RATIO = 3.0
DEFAULT_SHARE = 0.25
POISSON_FLOOR = 1.0
RELATIVE_FLOOR = 0.0
RECENT_SHARE_HOURS = 24
SHARE_DISPERSION = True
SHARE_RATIO = 1.25

Array = Any
Metric = Literal["negative", "volume"]
# (total, negative) per bucket index, where index = epoch seconds // bucket seconds.
Counts = dict[int, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Series:
    """Totals and negatives per bucket from bucket index `start` on, with no gaps."""

    start: int
    bucket_seconds: int
    total: Array
    negative: Array | None

    @classmethod
    def from_counts(cls, counts: Counts, first: int, last: int, bucket_seconds: int) -> Series:
        """Buckets `first..last` (inclusive) from a sparse `Counts` map; missing means zero."""
        size = max(0, last - first + 1)
        total = np.zeros(size, dtype=np.int64)
        negative = np.zeros(size, dtype=np.int64)
        for index, (t, n) in counts.items():
            if first <= index <= last:
                total[index - first], negative[index - first] = t, n
        return cls(first, bucket_seconds, total, negative)

    def __len__(self) -> int:
        return len(self.total)

    def time(self, position: int) -> datetime:
        """Start of the bucket at `position`."""
        return datetime.fromtimestamp((self.start + position) * self.bucket_seconds, UTC)

    def position(self, at: datetime) -> int:
        """Position of the bucket holding `at`."""
        return int(at.timestamp()) // self.bucket_seconds - self.start

    def first_data(self) -> int:
        """Position of the first bucket with any mention (history starts there)."""
        nonzero = np.flatnonzero(self.total)
        return int(nonzero[0]) if len(nonzero) else len(self)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule concluded for one brand at one moment, with the numbers behind it."""

    rule: str
    firing: bool
    elevated: bool
    severity: Severity | None
    window_start: datetime
    window_end: datetime
    observed: float
    expected: float
    observed_negative: int
    observed_total: int
    expected_negative: float
    expected_total: float
    negative_share: float
    usual_share: float
    z: float
    reason: str


@dataclass(frozen=True, slots=True)
class Window:
    """One window's judgement at every evaluated position (numpy arrays)."""

    buckets: int
    observed: Array
    expected: Array
    expected_total: Array
    expected_negative: Array
    z: Array
    firing: Array
    elevated: Array
    critical: Array
    reason: Array  # small ints, see REASONS
    total: Array
    negative: Array
    usual_share: Array


REASONS = (
    "within the usual range",
    "too few mentions in the window",
    "not enough above the usual count",
    "negative share not significantly above usual",
    "too little history to judge",
    "cold start: absolute threshold",
    "unusually high against the baseline",
)


class SpikeRule:
    """`negative_spike` (metric negative) or `volume_spike` (metric volume)."""

    def __init__(self, rule: str, settings: DetectorSettings) -> None:
        self.rule = rule
        self.settings = settings
        self.params: RuleSettings = settings.rule(rule)
        self.metric: Metric = "negative" if rule == "negative_spike" else "volume"
        self.bucket = settings.bucket_minutes * 60
        self.widths = sorted({w // settings.bucket_minutes for w in settings.windows_minutes})

    def lookback(self) -> timedelta:
        """History before `now` that the baseline needs."""
        days = self.settings.baseline_days
        if self.settings.weekly_after_days is not None:
            days = max(days, WEEKS * WEEK_DAYS, self.settings.weekly_after_days)
        longest = max(self.widths) * self.bucket + NEIGHBOUR_SECONDS
        return timedelta(days=days, seconds=longest + self.bucket)

    def finding(self, series: Series, now: datetime) -> Finding:
        """Judge the window that ends with the bucket holding `now` (a partial bucket)."""
        position = series.position(now - timedelta(microseconds=1))  # a bucket's end is in it
        bucket_start = series.time(position)
        fraction = min(1.0, max(1e-3, (now - bucket_start).total_seconds() / self.bucket))
        windows = self.assess(series, np.array([position]), fraction)
        return self.pick(series, windows, 0, position, min(now, bucket_start + self._step()))

    def _step(self) -> timedelta:
        return timedelta(seconds=self.bucket)

    def assess(self, series: Series, positions: Array, fraction: float = 1.0) -> list[Window]:
        """Judge the windows ending at each of `positions` (bucket positions in `series`)."""
        total = series.total.astype(np.float64)
        if series.negative is None:
            if self.metric == "negative":
                raise ValueError("negative_spike needs negative counts")
            negative = np.zeros_like(total)
        else:
            negative = series.negative.astype(np.float64)
        values = negative if self.metric == "negative" else total
        first = series.first_data()
        return [
            self._window(values, total, negative, first, positions, width, fraction)
            for width in self.widths
        ]

    def _window(
        self,
        values: Array,
        total: Array,
        negative: Array,
        first: int,
        positions: Array,
        width: int,
        fraction: float,
    ) -> Window:
        s, p = self.settings, positions
        per_day = DAY // self.bucket
        sums = {name: _prefix(a) for name, a in (("v", values), ("t", total), ("n", negative))}

        def window(name: str, raw: Array, ends: Array, part: float = fraction) -> Array:
            # Sum of the `width` buckets ending at `ends`, the last one counted by `part`:
            # earlier days are cut at the same point of the bucket as the current one.
            c = sums[name]
            ends = np.clip(ends, 0, len(raw) - 1)
            return c[ends] - c[np.clip(ends - width + 1, 0, None)] + part * raw[ends]

        observed = window("v", values, p, 1.0)  # the current bucket holds what came so far
        obs_total = window("t", total, p, 1.0)
        obs_negative = window("n", negative, p, 1.0)
        history_days = (p - width + 1 - first) / per_day
        after = s.weekly_after_days
        use_weekly = (history_days >= after) if after is not None else np.zeros(len(p), bool)
        shift = max(1, min(width, NEIGHBOUR_SECONDS // self.bucket))
        daily = [d * per_day for d in range(1, s.baseline_days + 1)]
        weeks = [k * WEEK_DAYS * per_day for k in range(1, WEEKS + 1)]
        expected = {}
        spread = {}
        for name, raw in (("v", values), ("t", total), ("n", negative)):
            med_d, mad_d = _baseline(window, name, raw, p, daily, shift, width, first)
            med_w, mad_w = _baseline(window, name, raw, p, weeks, shift, width, first)
            expected[name] = np.where(use_weekly, med_w, med_d)
            # Four same-weekday windows say little about spread: keep the daily MAD too.
            spread[name] = np.where(use_weekly, np.fmax(mad_w, mad_d), mad_d)
        med, mad = expected["v"], spread["v"]
        has_baseline = ~np.isnan(med)
        med0 = np.nan_to_num(med)
        scale = np.maximum.reduce(
            [
                1.4826 * np.nan_to_num(mad),
                POISSON_FLOOR * np.sqrt(np.maximum(med0, 0)),
                RELATIVE_FLOOR * med0,
                np.ones_like(med0),
            ]
        )
        z = (observed - med0) / scale
        excess = observed - med0
        params = self.params
        usual = self.usual_share(negative, total, p, width, per_day)
        dispersion = np.ones(len(p))
        if SHARE_DISPERSION and self.metric == "negative":
            dispersion = self._share_dispersion(
                window, total, negative, p, daily, width, first, usual, obs_total
            )
        share_ok = self._share_ok(obs_total, obs_negative, usual, dispersion)
        cold = history_days < s.cold_start_days
        # Cold start: an absolute count, well above the brand's level so far.
        seen = np.maximum(p - width + 1 - first, 0)
        level = (
            (sums["v"][np.clip(p - width + 1, 0, None)] - sums["v"][min(first, len(values))])
            / np.maximum(seen, 1)
            * width
        )
        cold_ready = seen * self.bucket >= COLD_MIN_HISTORY_HOURS * 3600
        cold_fire = (
            cold
            & cold_ready
            & (observed >= params.cold_start_min_count)
            & (observed >= COLD_RATIO * level)
            & (observed - level >= params.min_excess)
            & share_ok
        )
        warm = ~cold & has_baseline
        big = (observed >= params.min_count) & (excess >= params.min_excess)
        warm_fire = warm & big & (z >= params.z_warning) & share_ok
        firing = cold_fire | warm_fire
        elevated = (
            firing
            | (warm & (excess > 0) & (z >= s.z_resolve) & (observed >= params.min_count / 2))
            | (cold & (observed >= params.cold_start_min_count / 2) & (observed > level))
        )
        critical = (warm_fire & (z >= params.z_critical)) | (
            cold_fire & (observed >= 2 * params.cold_start_min_count)
        )
        reason = np.select(
            [
                cold_fire,
                warm_fire,
                cold & ~cold_ready,
                cold,
                ~has_baseline,
                observed < params.min_count,
                (excess < params.min_excess) | (z < params.z_warning),
                ~share_ok,
            ],
            [5, 6, 4, 0, 4, 1, 2, 3],
            default=0,
        )
        return Window(
            buckets=width,
            observed=observed,
            expected=np.where(cold, level, med0),
            expected_total=np.nan_to_num(expected["t"]),
            expected_negative=np.nan_to_num(expected["n"]),
            z=np.where(cold, 0.0, z),
            firing=firing,
            elevated=elevated,
            critical=critical,
            reason=reason,
            total=obs_total,
            negative=obs_negative,
            usual_share=usual,
        )

    @staticmethod
    def _share_z(n: Array, big_n: Array, usual: Array) -> Array:
        var = np.maximum(big_n * usual * (1 - usual), 1e-9)
        return (n - big_n * usual - 0.5) / np.sqrt(var)

    def _share_dispersion(
        self,
        window: Any,
        total: Array,
        negative: Array,
        p: Array,
        lags: list[int],
        width: int,
        first: int,
        usual: Array,
        obs_total: Array,
    ) -> Array:
        """How much wider than a binomial the share test must be for the current window.

        Shares wander more than coin flips (topical days, bots): with an intra-class
        correlation rho the variance of a window of N mentions is N p (1-p) (1 + (N-1) rho)
        (beta-binomial). rho is estimated from the same test on the baseline windows,
        whose z-scores should have spread 1, and applied at the current N, so a window
        four times busier than usual (a campaign) is not judged as if it were usual.
        """
        ends = p[:, None] - np.array(lags)[None, :]
        valid = ends - width + 1 >= first
        sizes = window("t", total, ends)
        z = self._share_z(window("n", negative, ends), sizes, usual[:, None])
        z = np.where(valid & (sizes > 0), z, np.nan)
        enough = np.sum(~np.isnan(z), axis=1) >= 3
        z[~enough] = 0.0
        center = _nanmedian_rows(z)
        spread = 1.4826 * _nanmedian_rows(np.abs(z - center[:, None]))
        counted = np.maximum(np.sum(valid, axis=1), 1)
        mean_size = np.sum(np.where(valid, sizes, 0.0), axis=1) / counted
        rho = np.clip((spread**2 - 1) / np.maximum(mean_size - 1, 1), 0, 1)
        inflation = np.sqrt(1 + np.maximum(obs_total - 1, 0) * rho)
        return np.where(enough, np.maximum(inflation, 1.0), 1.0)

    def _share_ok(
        self, obs_total: Array, obs_negative: Array, usual: Array, dispersion: Array
    ) -> Array:
        params = self.params
        if not isinstance(params, NegativeRuleSettings):
            return np.ones(len(obs_total), dtype=bool)
        n, big_n = obs_negative, obs_total
        z_share = self._share_z(n, big_n, usual) / dispersion
        share = np.divide(n, big_n, out=np.zeros_like(n), where=big_n > 0)
        above = np.maximum(usual + params.share_margin, usual * SHARE_RATIO)
        return (z_share >= params.share_z) & (share >= above)

    def usual_share(
        self, negative: Array, total: Array, p: Array, width: int, per_day: int
    ) -> Array:
        """Usual negative share before each window: over the baseline days, or over the last
        day if that is higher (a share drifting up is not a burst); a prior when thin."""
        end = np.clip(p - width + 1, 0, None)
        cn, ct = _prefix(negative), _prefix(total)
        prior = 20.0  # pseudo-mentions at the default share, so a thin history is not trusted

        def share(span: int) -> Array:
            begin = np.clip(end - span, 0, None)
            return (cn[end] - cn[begin] + prior * DEFAULT_SHARE) / (ct[end] - ct[begin] + prior)

        usual = share(self.settings.baseline_days * per_day)
        if RECENT_SHARE_HOURS:
            usual = np.maximum(usual, share(RECENT_SHARE_HOURS * per_day // 24))
        return usual

    def pick(
        self, series: Series, windows: list[Window], row: int, position: int, end: datetime
    ) -> Finding:
        """The Finding at `row` of `windows`: the firing window, else the most unusual."""
        chosen = next((w for w in windows if w.firing[row]), None)
        if chosen is None:
            chosen = max(windows, key=lambda w: float(w.z[row]))
        firing = bool(chosen.firing[row])
        width = chosen.buckets
        obs_total, obs_negative = round(chosen.total[row]), round(chosen.negative[row])
        usual = float(chosen.usual_share[row]) if series.negative is not None else 0.0
        severity: Severity | None = None
        if firing:
            severity = "critical" if chosen.critical[row] else "warning"
        z = float(chosen.z[row])
        observed, expected = float(chosen.observed[row]), float(chosen.expected[row])
        minutes = width * self.bucket // 60
        reason = f"{REASONS[int(chosen.reason[row])]} ({minutes}-min window"
        reason += f", {observed:.0f} vs usual {expected:.1f}, z {z:.1f})"
        return Finding(
            rule=self.rule,
            firing=firing,
            elevated=any(bool(w.elevated[row]) for w in windows),
            severity=severity,
            window_start=series.time(position - width + 1),
            window_end=end,
            observed=observed,
            expected=expected,
            observed_negative=obs_negative,
            observed_total=obs_total,
            expected_negative=float(chosen.expected_negative[row]),
            expected_total=float(chosen.expected_total[row]),
            negative_share=obs_negative / obs_total if obs_total else 0.0,
            usual_share=usual,
            z=z if math.isfinite(z) else 0.0,
            reason=reason,
        )


def _prefix(values: Array) -> Array:
    """c[i] = sum of values[:i]."""
    out = np.zeros(len(values) + 1, dtype=np.float64)
    np.cumsum(values, out=out[1:])
    return out


def _baseline(
    window: Any,
    name: str,
    raw: Array,
    p: Array,
    lags: list[int],
    shift: int,
    width: int,
    first: int,
) -> tuple[Array, Array]:
    """Median and MAD of the window at each lag (and its neighbours) before `p`."""
    steps = np.array([lag - offset for lag in lags for offset in (-shift, 0, shift)])
    if not len(steps):
        nothing = np.full(len(p), np.nan)
        return nothing, nothing
    ends = p[:, None] - steps[None, :]  # one row per position, one column per earlier window
    valid = (ends - width + 1 >= first) & (ends < (p - width + 1)[:, None])
    matrix = np.where(valid, window(name, raw, ends), np.nan)
    median = _nanmedian_rows(matrix)
    mad = _nanmedian_rows(np.abs(matrix - median[:, None]))
    return median, mad


def _nanmedian_rows(matrix: Array) -> Array:
    """Row medians ignoring NaN (NaN where a row has none); np.nanmedian is slow on small rows."""
    ordered = np.sort(matrix, axis=1)  # NaN sort last
    valid = np.sum(~np.isnan(ordered), axis=1)
    low = np.clip((valid - 1) // 2, 0, None)[:, None]
    high = np.clip(valid // 2, 0, None)[:, None]
    median = (np.take_along_axis(ordered, low, axis=1) + np.take_along_axis(ordered, high, axis=1))[
        :, 0
    ] / 2
    return np.where(valid > 0, median, np.nan)


def build_rules(settings: DetectorSettings) -> list[SpikeRule]:
    """The enabled rules of a brand's detector settings."""
    names = ("negative_spike", "volume_spike")
    return [SpikeRule(name, settings) for name in names if settings.rule(name).enabled]
