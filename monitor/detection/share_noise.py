"""The negative rule's noise model: a bucket's negatives judged given its volume.

The usual share (of the previous 7 days or of the last day, whichever is higher) sets the
expected negatives of each bucket; the brand's own over-dispersion widens their variance
beta-binomially, estimated robustly once per UTC day (`_dispersion`), so a news spike with
ten times the mentions at the usual share scores like an ordinary hour. The window test
pools the last 15 minutes or the last hour; the CUSUM (`calibration.with_cusum`) adds up
the buckets one by one.
"""

from __future__ import annotations

import numpy as np

from monitor.detection.calibration import SEASON_DAYS, Memo, Scores, day_digest, digest
from monitor.detection.series import (
    DAY,
    DEFAULT_SHARE,
    SHARE_PRIOR,
    Array,
    Sums,
    Tallies,
    prefix,
    usual_share,
)


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
    own: dict[int, bytes] = {}  # each day's digest, shared by the 7 windows that hold it
    for day in np.unique(days).tolist():
        end = day * per_day - start
        rho[days == day] = _day_dispersion(total, negative, end, first, per_day, start, memo, own)
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
    own: dict[int, bytes],
) -> float:
    """`_dispersion`, remembered in `memo` under a digest of the days of counts it reads
    and of where it reads (`start` is the bucket index of position 0); `own` keeps each
    day's digest for the next call."""
    if memo is None:
        return _dispersion(total, negative, end, first, per_day)
    lo, hi = max(first, end - SEASON_DAYS * per_day, 0), max(end, 0)
    days = range((start + lo) // per_day, (start + hi - 1) // per_day + 1) if hi > lo else ()
    for day in days:
        if day not in own:
            own[day] = day_digest(total, negative, day, per_day, start)
    key = (start + end, digest(np.array([start + lo, start + hi]), *(own[d] for d in days)))
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
