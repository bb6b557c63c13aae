"""Spike detection over bucketed counts: one judge for the live daemon and for backtests.

By default a rule is calibrated to the brand's alert budget (`budget.py`): its tests and
thresholds come from the brand's own history. The fixed-z windows described below judge
a rule whose `z_warning` is set, and the cold start of every rule.

For each 5-minute bucket a fixed-z rule compares the count in the window ending there (15
minutes, and 1 hour so that low-volume brands are heard too) with the same window at
the same time of day on the previous days (hour-of-week once there are four weeks of
history). The baseline is the median of those windows and their neighbours, its scale
the MAD floored at √median and 1, so earlier spikes do not poison it and a quiet hour
does not make three posts look like a crisis. `negative_spike` also asks that the
negative share be significantly above its usual level (one-sided binomial test against
the share over the previous days), so that a volume spike of praise never pages anyone.

Everything is computed with numpy over whole series (`series.py`), so a live tick (the
last bucket of a brand) and a backtest (every bucket of a year) run the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from monitor.detection.budget import BudgetJudge
from monitor.detection.series import (
    DAY,
    NEIGHBOUR_SECONDS,
    WEEK_DAYS,
    WEEKS,
    Array,
    Series,
    Sums,
    Tallies,
    baseline,
    share_dispersion,
    share_z,
    usual_share,
)
from monitor.detection.verdicts import REASONS, Finding, Window
from monitor.kernel.events import Severity
from monitor.settings import DetectorSettings, NegativeRuleSettings, RuleSettings

COLD_MIN_HISTORY_HOURS = 2
COLD_RATIO = 3.0
POISSON_FLOOR = 1.0
RELATIVE_FLOOR = 0.0
SHARE_DISPERSION = True
SHARE_RATIO = 1.25

Metric = Literal["negative", "volume"]


@dataclass(frozen=True, slots=True)
class Observed:
    """The windows' own sums: the rule's metric, all mentions, negatives."""

    value: Array
    total: Array
    negative: Array


@dataclass(frozen=True, slots=True)
class Baseline:
    """The usual level of each window and how far the observed one stands from it."""

    expected: dict[str, Array]  # median per series (v, t, n); NaN without history
    known: Array  # a baseline exists
    level: Array  # the metric's median, 0 where unknown
    z: Array
    excess: Array


@dataclass(frozen=True, slots=True)
class ColdStart:
    """The absolute test of a young brand: its level so far and whether it fires."""

    on: Array  # too little history for a baseline
    ready: Array  # enough data to compare with the level so far
    level: Array
    fire: Array


class SpikeRule:
    """`negative_spike` (metric negative) or `volume_spike` (metric volume)."""

    def __init__(self, rule: str, settings: DetectorSettings) -> None:
        self.rule = rule
        self.settings = settings
        self.params: RuleSettings = settings.rule(rule)
        self.metric: Metric = "negative" if rule == "negative_spike" else "volume"
        self.bucket = settings.bucket_minutes * 60
        self.widths = sorted({w // settings.bucket_minutes for w in settings.windows_minutes})
        self.budget = settings.budget(rule)
        self.judge = (
            BudgetJudge(settings, self.params, self.budget, self.metric)
            if self.params.calibrated
            else None
        )

    def lookback(self) -> timedelta:
        """History before `now` that the baseline needs."""
        days = self.settings.baseline_days
        if self.settings.weekly_after_days is not None:
            days = max(days, WEEKS * WEEK_DAYS, self.settings.weekly_after_days)
        longest = max(self.widths) * self.bucket + NEIGHBOUR_SECONDS
        if self.judge is not None:
            longest = max(longest, self.judge.history_seconds() - days * DAY)
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
        metric: Literal["t", "n"] = "n" if self.metric == "negative" else "t"
        tallies = Tallies.of(metric, total, negative, series.first_data())
        if self.judge is None or not len(positions):
            return [self._window(Sums(tallies, w, fraction), positions) for w in self.widths]
        # Calibrated: the fixed windows speak only for a brand too young for a baseline.
        young = (positions - tallies.first) < self.settings.cold_start_days * (DAY // self.bucket)
        calibrated = self.judge.windows(series, tallies, positions, fraction, ~young)
        if not young.any():  # the fixed windows would be computed only to stay silent
            return calibrated
        fixed = [self._window(Sums(tallies, w, fraction), positions) for w in self.widths]
        return [*(_only(w, young) for w in fixed), *calibrated]

    def _window(self, sums: Sums, p: Array) -> Window:
        """One window width judged at positions `p`: observe, compare, test, decide."""
        observed = Observed(sums("v", p, 1.0), sums("t", p, 1.0), sums("n", p, 1.0))
        history_days = (p - sums.width + 1 - sums.first) / (DAY // self.bucket)
        base = self._baseline(sums, p, history_days, observed)
        usual = usual_share(sums, p, self.settings.baseline_days, DAY // self.bucket)
        share_ok = self._share_test(sums, p, observed, usual)
        cold = self._cold_start(sums, p, history_days, observed, share_ok)
        return self._verdict(sums.width, observed, base, cold, share_ok, usual)

    def _expected(self, sums: Sums, p: Array, history_days: Array) -> tuple[dict[str, Array], ...]:
        """Median and spread of each series' earlier windows: daily, or weekly once old enough."""
        s, per_day = self.settings, DAY // self.bucket
        after = s.weekly_after_days
        use_weekly = (history_days >= after) if after is not None else np.zeros(len(p), bool)
        shift = max(1, min(sums.width, NEIGHBOUR_SECONDS // self.bucket))
        daily = [d * per_day for d in range(1, s.baseline_days + 1)]
        weeks = [k * WEEK_DAYS * per_day for k in range(1, WEEKS + 1)]
        expected, spread = {}, {}
        for name in ("t", "n"):
            med_d, mad_d = baseline(sums, name, p, daily, shift)
            if not use_weekly.any():  # the weekly baseline would be computed for nothing
                expected[name], spread[name] = med_d, mad_d
                continue
            med_w, mad_w = baseline(sums, name, p, weeks, shift)
            expected[name] = np.where(use_weekly, med_w, med_d)
            # Four same-weekday windows say little about spread: keep the daily MAD too.
            spread[name] = np.where(use_weekly, np.fmax(mad_w, mad_d), mad_d)
        metric = sums.tallies.metric  # the metric's series is one of the two
        expected["v"], spread["v"] = expected[metric], spread[metric]
        return expected, spread

    def _baseline(self, sums: Sums, p: Array, history_days: Array, obs: Observed) -> Baseline:
        """The metric's usual level, its robust scale, and the observed window's z against it."""
        expected, spread = self._expected(sums, p, history_days)
        med, mad = expected["v"], spread["v"]
        med0 = np.nan_to_num(med)
        scale = np.maximum.reduce(
            [
                1.4826 * np.nan_to_num(mad),
                POISSON_FLOOR * np.sqrt(np.maximum(med0, 0)),
                RELATIVE_FLOOR * med0,
                np.ones_like(med0),
            ]
        )
        z = (obs.value - med0) / scale
        return Baseline(expected, ~np.isnan(med), med0, z, obs.value - med0)

    def _share_test(self, sums: Sums, p: Array, obs: Observed, usual: Array) -> Array:
        """Whether each window's negative share is significantly above the usual one."""
        dispersion = np.ones(len(p))
        if SHARE_DISPERSION and self.metric == "negative":
            per_day = DAY // self.bucket
            lags = [d * per_day for d in range(1, self.settings.baseline_days + 1)]
            dispersion = share_dispersion(sums, p, lags, usual, obs.total)
        return self._share_ok(obs.total, obs.negative, usual, dispersion)

    def _cold_start(
        self, sums: Sums, p: Array, history_days: Array, obs: Observed, share_ok: Array
    ) -> ColdStart:
        """Cold start: an absolute count, well above the brand's level so far."""
        params, width, first = self.params, sums.width, sums.first
        cold = history_days < self.settings.cold_start_days
        seen = np.maximum(p - width + 1 - first, 0)
        c = sums.tallies.prefix["v"]
        level = (
            (c[np.clip(p - width + 1, 0, None)] - c[min(first, len(c) - 1)])
            / np.maximum(seen, 1)
            * width
        )
        ready = seen * self.bucket >= COLD_MIN_HISTORY_HOURS * 3600
        fire = (
            cold
            & ready
            & (obs.value >= params.cold_start_min_count)
            & (obs.value >= COLD_RATIO * level)
            & (obs.value - level >= params.min_excess)
            & share_ok
        )
        return ColdStart(cold, ready, level, fire)

    def _verdict(
        self,
        width: int,
        obs: Observed,
        base: Baseline,
        cold: ColdStart,
        share_ok: Array,
        usual: Array,
    ) -> Window:
        """Fire, elevated, critical and the reason, from the baseline and cold-start tests."""
        params, observed = self.params, obs.value
        z_warning, z_critical = params.z_levels()
        warm = ~cold.on & base.known
        big = (observed >= params.min_count) & (base.excess >= params.min_excess)
        warm_fire = warm & big & (base.z >= z_warning) & share_ok
        firing = cold.fire | warm_fire
        elevated = (
            firing
            | (
                warm
                & (base.excess > 0)
                & (base.z >= self.settings.z_resolve)
                & (observed >= params.min_count / 2)
            )
            | (cold.on & (observed >= params.cold_start_min_count / 2) & (observed > cold.level))
        )
        critical = (warm_fire & (base.z >= z_critical)) | (
            cold.fire & (observed >= 2 * params.cold_start_min_count)
        )
        return Window(
            buckets=width,
            observed=observed,
            expected=np.where(cold.on, cold.level, base.level),
            expected_total=np.nan_to_num(base.expected["t"]),
            expected_negative=np.nan_to_num(base.expected["n"]),
            z=np.where(cold.on, 0.0, base.z),
            firing=firing,
            elevated=elevated,
            critical=critical,
            reason=self._reason(obs, base, cold, share_ok, warm_fire),
            total=obs.total,
            negative=obs.negative,
            usual_share=usual,
        )

    def _reason(
        self, obs: Observed, base: Baseline, cold: ColdStart, share_ok: Array, warm_fire: Array
    ) -> Array:
        """The first reason that applies, as an index into REASONS."""
        params = self.params
        z_warning = params.z_levels()[0]
        return np.select(
            [
                cold.fire,
                warm_fire,
                cold.on & ~cold.ready,
                cold.on,
                ~base.known,
                obs.value < params.min_count,
                (base.excess < params.min_excess) | (base.z < z_warning),
                ~share_ok,
            ],
            [5, 6, 4, 0, 4, 1, 2, 3],
            default=0,
        )

    def _share_ok(
        self, obs_total: Array, obs_negative: Array, usual: Array, dispersion: Array
    ) -> Array:
        params = self.params
        if not isinstance(params, NegativeRuleSettings):
            return np.ones(len(obs_total), dtype=bool)
        n, big_n = obs_negative, obs_total
        z_share = share_z(n, big_n, usual) / dispersion
        share = np.divide(n, big_n, out=np.zeros_like(n), where=big_n > 0)
        above = np.maximum(usual + params.share_margin, usual * SHARE_RATIO)
        return (z_share >= params.share_z) & (share >= above)

    def pick(
        self, series: Series, windows: list[Window], row: int, position: int, end: datetime
    ) -> Finding:
        """The Finding at `row` of `windows`: the firing window, else the most unusual."""
        chosen = next((w for w in windows if w.firing[row]), None)
        if chosen is None:
            speaking = [w for w in windows if w.active is None or w.active[row]] or windows
            chosen = max(speaking, key=lambda w: float(w.z[row]))
        firing = bool(chosen.firing[row])
        first = position - chosen.buckets + 1 if chosen.start is None else int(chosen.start[row])
        obs_total, obs_negative = round(chosen.total[row]), round(chosen.negative[row])
        usual = float(chosen.usual_share[row]) if series.negative is not None else 0.0
        severity: Severity | None = None
        if firing:
            severity = "critical" if chosen.critical[row] else "warning"
        z = float(chosen.z[row])
        observed, expected = float(chosen.observed[row]), float(chosen.expected[row])
        return Finding(
            rule=self.rule,
            firing=firing,
            elevated=any(bool(w.elevated[row]) for w in windows),
            severity=severity,
            window_start=series.time(first),
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
            reason=_reason_text(chosen, row, (position - first + 1) * self.bucket // 60),
            calibration=chosen.note[row] if chosen.threshold is not None else "",
        )


def _reason_text(window: Window, row: int, minutes: int) -> str:
    """`far above the usual level ... (5-min window, 80 vs usual 12.0, z 7.1 ≥ 5.2: ...)`."""
    z, observed = float(window.z[row]), float(window.observed[row])
    text = f"{REASONS[int(window.reason[row])]} ({minutes}-min window"
    text += f", {observed:.0f} vs usual {float(window.expected[row]):.1f}"
    name = "evidence" if window.test == "cusum" else "z"
    if window.threshold is None:
        return text + f", {name} {z:.1f})"
    limit = float(window.threshold[row])
    return text + f", {name} {z:.1f} vs threshold {limit:.1f}: {window.note[row]})"


def _only(window: Window, where: Array) -> Window:
    """`window` silenced outside `where`."""
    return replace(
        window,
        firing=window.firing & where,
        elevated=window.elevated & where,
        critical=window.critical & where,
        active=where,
    )


def build_rules(settings: DetectorSettings) -> list[SpikeRule]:
    """The enabled rules of a brand's detector settings."""
    names = ("negative_spike", "volume_spike")
    return [SpikeRule(name, settings) for name in names if settings.rule(name).enabled]
