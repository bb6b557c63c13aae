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
The negative rule's score (negatives given the volume) is in `share_noise.py`; it shares
the CUSUM, the thresholds (a robust Gumbel fit) and the memo of daily peaks.
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
    Array,
    prefix,
    sorted_median,
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
    # One large array, sorted and reused in place: on a first tick this runs over weeks
    # of buckets for every brand, and fresh large arrays cost more than the arithmetic.
    matrix = _past_logs(values, p, first, lags, part)
    valid = len(lags) - np.isnan(matrix).sum(axis=1)
    enough = valid >= len(lags) // SEASON_DAYS
    matrix.sort(axis=1)  # NaN last
    median = sorted_median(matrix, valid)
    matrix -= median[:, None]
    np.abs(matrix, out=matrix)
    matrix.sort(axis=1)
    mad = sorted_median(matrix, valid)
    level = np.expm1(np.nan_to_num(median))
    scale = np.fmax(1.4826 * np.nan_to_num(mad), 1 / np.sqrt(level + 1))
    z = (now - median) / scale
    return np.where(enough, z, np.nan), level


def _past_logs(values: Array, p: Array, first: int, lags: Array, part: Array) -> Array:
    """log1p of the counts at `lags` before each of `p` (times `part`, the share of its
    bucket that has passed), one row per position; NaN before `first`.

    For a run of consecutive positions each lag is one shifted slice of the series (a
    gather of every cell would cost twice as much); rows of partial buckets are redone.
    """
    consecutive = len(p) > 1 and int(p[-1]) - int(p[0]) + 1 == len(p)
    if not consecutive:
        return _gathered_logs(values, p, first, lags, part)
    reach = int(lags.max())
    padded = np.full(reach + len(values), np.nan)
    padded[reach:] = np.log1p(values)
    padded[reach : reach + max(first, 0)] = np.nan
    matrix = np.empty((len(p), len(lags)))
    for column, begin in enumerate((reach + int(p[0]) - lags).tolist()):
        matrix[:, column] = padded[begin : begin + len(p)]
    partial = np.flatnonzero(part[:, 0] != 1.0)
    if len(partial):
        matrix[partial] = _gathered_logs(values, p[partial], first, lags, part[partial])
    return matrix


def _gathered_logs(values: Array, p: Array, first: int, lags: Array, part: Array) -> Array:
    """`_past_logs` cell by cell, for any positions."""
    ends = p[:, None] - lags[None, :]
    past = np.log1p(values[np.clip(ends, 0, None)] * part)
    return np.where(ends >= first, past, np.nan)


def with_cusum(
    scores: Scores,
    p: Array,
    span: int,
    informative: Array | None = None,
    stretches: bool = True,
) -> Scores:
    """Add the CUSUM at each position whose previous `span` positions are in `p` too.

    `p` must be consecutive. The CUSUM at t is the largest sum of min(z, CAP) - DRIFT over
    a stretch ending at t and starting at most `span` - 1 buckets before it (0 if none is
    positive): the evidence of a ramp, the same whether computed live or in a backtest.
    A bucket that is not `informative` (no mention to judge a share by) adds nothing.
    Without `stretches` the sums alone are computed (faster) and `since` is not set.
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
        rows = np.arange(span - 1, n)
        if stretches:
            windows = np.lib.stride_tricks.sliding_window_view(c[:-1], span)  # c[t-span+1..t]
            start = rows - span + 1 + windows.argmin(axis=1)
            cusum[span - 1 :] = np.maximum(c[rows + 1] - c[start], 0.0)
            since[span - 1 :] = p[start]
        else:  # the same sums, from the window minima alone
            cusum[span - 1 :] = np.maximum(c[rows + 1] - sliding_min(c[:-1], span), 0.0)
    return Scores(scores.z, cusum, since, scores.expected, scores.steps, scores.width)


def sliding_min(values: Array, width: int) -> Array:
    """The minimum of each run of `width` consecutive values (van Herk / Gil-Werman: the
    running minima within blocks of `width`, forwards and backwards), in O(n)."""
    n = len(values)
    blocks = -(-n // width)
    padded = np.full(blocks * width, np.inf)
    padded[:n] = values
    grid = padded.reshape(blocks, width)
    forward = np.minimum.accumulate(grid, axis=1).ravel()
    backward = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    starts = np.arange(n - width + 1)
    return np.minimum(backward[starts], forward[starts + width - 1])


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


def day_digest(total: Array, negative: Array, day: int, per_day: int, start: int) -> bytes:
    """The digest of one UTC day's counts (the part of it the series holds)."""
    span = slice(max(0, day * per_day - start), max(0, (day + 1) * per_day - start))
    return digest(total[span], negative[span])


def digest(*parts: Array | bytes) -> bytes:
    """A short fingerprint of some counts (arrays) or of other fingerprints (bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else np.ascontiguousarray(part).tobytes())
        h.update(b"|")
    return h.digest()
