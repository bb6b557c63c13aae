"""A brand's own noise model and the thresholds its alert budget allows.

Real mention counts are heavy-tailed: news cycles, retweet cascades, market hours. So the
score of a bucket is a robust z of `log1p(count)` against the same time of day (±30 min,
every 10 min) on each of the previous 7 days: the median of those 49 values is the usual
level and 1.4826·MAD their spread, floored at the spread a Poisson count would have at
that level, so a quiet hour does not make three posts a crisis. Beside it, a CUSUM of the
same z (capped at `CUSUM_CAP`, less `CUSUM_DRIFT` per bucket) accumulates a slow ramp's
evidence: the largest sum of any stretch ending now within the last day.

Each test's threshold comes from the brand's own daily peaks of that score over the last
`CALIBRATION_DAYS` days: with a budget of b alerts a week shared by the two tests, the
threshold is the (⌊b/2 · days/7⌋ + 1)-th largest daily peak, so ordinary weeks reach it
about b/2 times. A brand with fewer days says so: under `YOUNG_DAYS` of peaks it uses the
fixed `YOUNG_THRESHOLD`, then the largest peak so far until `CALIBRATION_MIN_DAYS`.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import numpy as np

from monitor.detection.series import (
    DAY,
    DEFAULT_SHARE,
    SHARE_PRIOR,
    Array,
    Sums,
    Tallies,
    nanmedian_rows,
    prefix,
    usual_share,
)

SEASON_DAYS = 7
SEASON_HALF_SECONDS = 1800
SEASON_STEP_SECONDS = 600
CUSUM_CAP = 6.0
CUSUM_DRIFT = 0.5
CUSUM_SPAN_SECONDS = DAY
CALIBRATION_DAYS = 28
CALIBRATION_MIN_DAYS = 14
YOUNG_DAYS = 3
FIT_MIN_DAYS = 7  # a fit to the lower half of the peaks needs a week of them
YOUNG_THRESHOLD = {"z": 8.0, "cusum": 50.0}
THRESHOLD_FLOOR = {"z": 3.0, "cusum": 6.0}
MEMO_SIZE = 200_000
GUMBEL_MEDIAN = -math.log(math.log(2))  # a Gumbel's median is mu + this * beta
GUMBEL_IQ = GUMBEL_MEDIAN + math.log(-math.log(0.25))  # median - lower quartile, in betas

T = TypeVar("T")
Test = Literal["z", "cusum"]
Basis = Literal["budget", "early fit", "so far", "young"]


@dataclass(frozen=True, slots=True)
class Scores:
    """The seasonal z and the CUSUM at a run of positions, with the usual counts."""

    z: Array  # NaN where the brand has no day of history yet
    cusum: Array
    since: Array  # position where the CUSUM's stretch starts
    expected: Array  # the usual count per bucket (median of the season)
    steps: Array | None = None  # the per-bucket z the CUSUM adds up, when not `z`
    width: Array | None = None  # buckets the window test pooled at each position (else 1)


@dataclass(frozen=True, slots=True)
class Threshold:
    """One test's calibrated threshold and the level under which an incident calms."""

    fire: float
    calm: float
    basis: Basis
    days: int  # daily peaks it was calibrated on

    def describe(self, budget: float) -> str:
        """`calibrated to 0.5 alerts/week on 28 days`, `young brand: 3 days`..."""
        if self.basis == "budget":
            return f"threshold calibrated to {budget:g} alerts/week on {self.days} days"
        if self.basis == "early fit":
            return (
                f"threshold fitted to {budget:g} alerts/week on {self.days} days; "
                f"full calibration after {CALIBRATION_MIN_DAYS}"
            )
        if self.basis == "so far":
            return (
                f"threshold: highest daily peak of {self.days} days; "
                f"full calibration after {CALIBRATION_MIN_DAYS}"
            )
        return f"new brand, {self.days} days of history: conservative threshold"


def offsets(bucket_seconds: int) -> list[int]:
    """The seasonal neighbours of a bucket, in buckets: ±30 min every 10 min."""
    step = max(1, SEASON_STEP_SECONDS // bucket_seconds)
    half = SEASON_HALF_SECONDS // bucket_seconds
    return list(range(-(half // step) * step, half + 1, step))


def season_lags(bucket_seconds: int) -> Array:
    """Bucket lags of the seasonal baseline: each neighbour on each of the previous days."""
    per_day = DAY // bucket_seconds
    near = offsets(bucket_seconds)
    return np.array([d * per_day + o for d in range(1, SEASON_DAYS + 1) for o in near])


def seasonal_z(
    values: Array, p: Array, first: int, bucket: int, fraction: Array | float = 1.0
) -> Scores:
    """Robust z of log1p(values[p]) against the same time of day on the previous days.

    `fraction` (per position, or one for all) is how much of the bucket at `p` has passed:
    the earlier days are counted at the same fraction, so a bucket judged in its first
    minute is compared with the first minute of the others.
    """
    part = np.broadcast_to(np.asarray(fraction, dtype=np.float64), p.shape)[:, None]
    z, level = _robust_z(values, p, first, season_lags(bucket), part, np.log1p(values[p]))
    return Scores(z, np.zeros(len(p)), p.copy(), level)


def _robust_z(
    values: Array,
    p: Array,
    first: int,
    lags: Array,
    part: Array,
    now: Array,
) -> tuple[Array, Array]:
    """z of `now` against log1p of the counts at `lags` before `p` (NaN without a day of
    them), and the usual count (their median)."""
    ends = p[:, None] - lags[None, :]
    valid = ends >= first
    past = np.log1p(values[np.clip(ends, 0, None)] * part)
    matrix = np.where(valid, past, np.nan)
    enough = valid.sum(axis=1) >= len(lags) // SEASON_DAYS
    median = nanmedian_rows(matrix)
    mad = nanmedian_rows(np.abs(matrix - median[:, None]))
    level = np.expm1(np.nan_to_num(median))
    scale = np.fmax(1.4826 * np.nan_to_num(mad), 1 / np.sqrt(level + 1))
    z = (now - median) / scale
    return np.where(enough, z, np.nan), level


def share_scores(
    total: Array,
    negative: Array,
    p: Array,
    first: int,
    bucket: int,
    start: int,
    memo: Memo[float] | None = None,
) -> Scores:
    """z of each bucket's negatives given its total: how far above the usual share.

    n ~ N·p with the beta-binomial variance N p (1-p) (1 + (N-1) rho): p is the share over
    the previous 7 days or the last day, whichever is higher (a drift is not a burst), rho
    the brand's own over-dispersion over the 7 days before the position's UTC day (`start`
    is the bucket index of position 0), so a news spike (N ten times usual, the usual
    share) scores no more than an ordinary hour.
    """
    per_day = DAY // bucket
    tallies = Tallies.of("n", total, negative, first)
    usual = usual_share(Sums(tallies, 1, 1.0), p, SEASON_DAYS, per_day)
    rho = np.zeros(len(p))
    days = (start + p) // per_day  # dispersion is estimated once per UTC day
    for day in np.unique(days).tolist():
        end = day * per_day - start
        rho[days == day] = _day_dispersion(total, negative, end, first, per_day, start, memo)
    n_all, n_neg = total[p].astype(np.float64), negative[p].astype(np.float64)
    inflation = 1 + np.maximum(n_all - 1, 0) * rho
    var = n_all * usual * (1 - usual) * inflation
    excess = n_neg - n_all * usual
    z = np.divide(excess, np.sqrt(var), out=np.zeros(len(p)), where=var > 0)
    known = p - first >= per_day
    # The window test pools the last 15 minutes or the last hour, whichever stands out more
    # (a burst spread over them is clearer than in any one bucket, a slow one on a small
    # brand only over the hour); the CUSUM adds up the buckets one by one. Near the start
    # of `p` a window holds fewer buckets.
    pooled, widths = np.full(len(p), -np.inf), np.ones(len(p), dtype=np.int64)
    for width in POOLED_WIDTHS:
        pooled_var, pooled_excess = _trailing(var, width), _trailing(excess, width)
        z_width = np.divide(
            pooled_excess, np.sqrt(pooled_var), out=np.zeros(len(p)), where=pooled_var > 0
        )
        better = z_width > pooled
        pooled, widths = np.where(better, z_width, pooled), np.where(better, width, widths)
    return Scores(
        np.where(known, pooled, np.nan),
        np.zeros(len(p)),
        p.copy(),
        n_all * usual,
        np.where(known, z, np.nan),
        widths,
    )


def _trailing(values: Array, width: int) -> Array:
    """Sum of each value and the `width` - 1 before it (fewer at the start)."""
    c = prefix(values)
    ends = np.arange(1, len(values) + 1)
    return c[ends] - c[np.clip(ends - width, 0, None)]


RHO_MAX = 0.5
DISPERSION_MIN_N = 10
POOLED_WIDTHS = (3, 12)  # the negative window test: the last 15 minutes or the last hour
DISPERSION_MIN_BUCKETS = 24
DISPERSION_SAMPLE = 500
CHI2_MEDIAN = 0.4549  # median of a chi-square with one degree of freedom


def _day_dispersion(
    total: Array,
    negative: Array,
    end: int,
    first: int,
    per_day: int,
    start: int,
    memo: Memo[float] | None,
) -> float:
    """`_dispersion`, remembered in `memo` under a digest of the counts it reads (and where
    they are: `start` is the bucket index of position 0)."""
    if memo is None:
        return _dispersion(total, negative, end, first, per_day)
    lo, hi = max(first, end - SEASON_DAYS * per_day, 0), max(end, 0)
    key = (start + end, digest(total[lo:hi], negative[lo:hi], np.array([start + lo, start + hi])))
    found = memo.get(key)
    if found is None:
        found = _dispersion(total, negative, end, first, per_day)
        memo.put(key, found)
    return found


def _dispersion(total: Array, negative: Array, end: int, first: int, per_day: int) -> float:
    """Intra-class correlation rho of negatives over the 7 days of buckets before `end`.

    Robust: rho is the value at which the median of each bucket's squared residual over
    its beta-binomial variance is the median of a chi-square with one degree of freedom,
    so bursts, even a few hours a week of them, are not taken for noise.
    """
    lo = max(first, end - SEASON_DAYS * per_day, 0)
    n_all = total[lo:end].astype(np.float64)
    n_neg = negative[lo:end].astype(np.float64)
    busy = n_all >= DISPERSION_MIN_N  # small buckets are too discrete for a median
    if busy.sum() < DISPERSION_MIN_BUCKETS:
        return 0.0  # a small brand, where a bucket's few mentions hardly correlate
    n_all, n_neg = n_all[busy], n_neg[busy]
    share = (n_neg.sum() + SHARE_PRIOR * DEFAULT_SHARE) / (n_all.sum() + SHARE_PRIOR)
    step = max(1, len(n_all) // DISPERSION_SAMPLE)  # an even sample is enough for a median
    n_all, n_neg = n_all[::step], n_neg[::step]
    ratio = (n_neg - n_all * share) ** 2 / (n_all * share * (1 - share))
    if np.median(ratio) <= CHI2_MEDIAN:
        return 0.0
    low, high = 0.0, RHO_MAX
    for _ in range(2):  # two rounds of a 16-point grid: rho to within 0.5 / 256
        grid = np.linspace(low, high, 17)
        medians = np.median(ratio[None, :] / (1 + (n_all[None, :] - 1) * grid[:, None]), axis=1)
        above = np.flatnonzero(medians > CHI2_MEDIAN)  # the median falls as rho grows
        if not len(above):
            return float(grid[0])
        if above[-1] == len(grid) - 1:
            return RHO_MAX
        low, high = float(grid[above[-1]]), float(grid[above[-1] + 1])
    return (low + high) / 2


def with_cusum(scores: Scores, p: Array, span: int, informative: Array | None = None) -> Scores:
    """Add the CUSUM at each position whose previous `span` positions are in `p` too.

    `p` must be consecutive. The CUSUM at t is the largest sum of min(z, CAP) - DRIFT over
    a stretch ending at t and starting at most `span` - 1 buckets before it (0 if none is
    positive): the evidence of a ramp, the same whether computed live or in a backtest.
    A bucket that is not `informative` (no mention to judge a share by) adds nothing.
    """
    z = scores.z if scores.steps is None else scores.steps
    steps = np.minimum(np.nan_to_num(z, nan=0.0), CUSUM_CAP) - CUSUM_DRIFT
    if informative is not None:
        steps = np.where(informative, steps, 0.0)
    c = prefix(steps)  # c[i] = sum of steps[:i]
    n = len(steps)
    cusum = np.zeros(n)
    since = p.copy()
    if n >= span:
        windows = np.lib.stride_tricks.sliding_window_view(c[:-1], span)  # c[t-span+1 .. t]
        lowest = windows.argmin(axis=1)
        rows = np.arange(span - 1, n)
        start = rows - span + 1 + lowest
        cusum[span - 1 :] = np.maximum(c[rows + 1] - c[start], 0.0)
        since[span - 1 :] = p[start]
    return Scores(scores.z, cusum, since, scores.expected, scores.steps, scores.width)


def day_of(position: Array, start: int, bucket: int) -> Array:
    """UTC day number of bucket positions of a series that starts at bucket index `start`."""
    return ((start + position) * bucket) // DAY


def threshold(peaks: Array, budget: float, test: Test, robust: bool = False) -> Threshold:
    """The threshold of `test` from the brand's daily peaks (NaN: a day without a score).

    `robust`: fit a Gumbel law to the lower half of the peaks (their median and lower
    quartile) and take its quantile for the budget, so that days with incidents, if
    they come often, do not lift the threshold to their own height.
    """
    known = np.sort(peaks[~np.isnan(peaks)])[::-1]
    days = len(known)
    floor = THRESHOLD_FLOOR[test]
    if days < YOUNG_DAYS:
        fire = YOUNG_THRESHOLD[test]
        return Threshold(fire, fire / 2, "young", days)
    calm = max(floor / 2, float(np.median(known)))
    basis: Basis = "budget" if days >= CALIBRATION_MIN_DAYS else "early fit"
    if robust:
        median, quartile = float(np.median(known)), float(np.quantile(known, 0.25))
        beta = max((median - quartile) / GUMBEL_IQ, 1e-6)
        mu = median - GUMBEL_MEDIAN * beta
        # The chance that an ordinary day passes: the whole budget for each test, as
        # both tests of a share mostly fire on the same moments.
        daily = min(0.5, budget / 7)
        fire = mu - beta * math.log(-math.log(1 - daily))
        if days < FIT_MIN_DAYS:  # a fit on a few days: no lower than half the young one
            fire = max(fire, YOUNG_THRESHOLD[test] / 2)
    elif days < CALIBRATION_MIN_DAYS:
        return Threshold(max(floor, float(known[0])), calm, "so far", days)
    else:
        fire = float(known[min(math.floor(budget / 2 * days / 7), days - 1)])
    return Threshold(max(floor, fire), min(calm, max(floor, fire)), basis, days)


class Memo(Generic[T]):
    """Values already computed from a day's counts, keyed by a digest of exactly the counts
    they came from (bounded LRU): a day's peaks, or its dispersion.

    A live tick would otherwise recompute 28 days of scores for every brand; a past day's
    values change only if its counts (or the days before them) change.
    """

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._values: OrderedDict[tuple[object, ...], T] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> T | None:
        """The value stored under `key`, if any."""
        found = self._values.get(key)
        if found is not None:
            self._values.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], value: T) -> None:
        """Remember `value` under `key`, forgetting the oldest beyond the size."""
        self._values[key] = value
        if len(self._values) > self.size:
            self._values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)


def digest(*parts: Array | bytes) -> bytes:
    """A short fingerprint of some counts (arrays) or of other fingerprints (bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else np.ascontiguousarray(part).tobytes())
        h.update(b"|")
    return h.digest()
