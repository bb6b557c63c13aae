"""Bucketed counts as numpy series, their window sums, and the usual levels rules judge by.

A window is `width` consecutive buckets; its baseline is the median (and MAD) of the same
window at earlier lags and their neighbours; the usual negative share is the share over
the days before it. Everything works on whole arrays of bucket positions, so a live tick
(one position) and a backtest (every position) share the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

DAY = 86_400
WEEK_DAYS = 7
WEEKS = 4
NEIGHBOUR_SECONDS = 900
DEFAULT_SHARE = 0.25
SHARE_PRIOR = 20.0  # pseudo-mentions at the default share, so a thin history is not trusted
RECENT_SHARE_HOURS = 24

Array = Any
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
class Tallies:
    """A series as float arrays with their prefix sums, computed once for every window.

    `t` is the totals, `n` the negatives, and `v` the rule's metric: the very same array
    as `metric` (`n` or `t`), so what is computed for one serves the other.
    """

    raw: dict[str, Array]
    prefix: dict[str, Array]
    first: int  # position of the first bucket with data
    metric: Literal["t", "n"]

    @classmethod
    def of(cls, metric: Literal["t", "n"], total: Array, negative: Array, first: int) -> Tallies:
        """Tallies of the totals and negatives, `v` standing for `metric` ("t" or "n")."""
        raw = {"t": total, "n": negative}
        sums = {name: prefix(a) for name, a in raw.items()}
        raw["v"], sums["v"] = raw[metric], sums[metric]
        return cls(raw, sums, first, metric)


@dataclass(frozen=True, slots=True)
class Sums:
    """Window sums of `width` buckets, the last bucket counted by `fraction`."""

    tallies: Tallies
    width: int
    fraction: float

    def __call__(self, name: str, ends: Array, part: float | None = None) -> Array:
        """Sum of the window ending at each of `ends` (any shape) of series `name`.

        Earlier days are cut at the same point of their last bucket as the current one.
        """
        raw, c = self.tallies.raw[name], self.tallies.prefix[name]
        part = self.fraction if part is None else part
        ends = np.clip(ends, 0, len(raw) - 1)
        return c[ends] - c[np.clip(ends - self.width + 1, 0, None)] + part * raw[ends]

    @property
    def first(self) -> int:
        """Position of the first bucket with data."""
        return self.tallies.first


def prefix(values: Array) -> Array:
    """c[i] = sum of values[:i]."""
    out = np.zeros(len(values) + 1, dtype=np.float64)
    np.cumsum(values, out=out[1:])
    return out


def baseline(sums: Sums, name: str, p: Array, lags: list[int], shift: int) -> tuple[Array, Array]:
    """Median and MAD of the window at each lag (and its neighbours) before `p`."""
    steps = np.array([lag - offset for lag in lags for offset in (-shift, 0, shift)])
    if not len(steps):
        nothing = np.full(len(p), np.nan)
        return nothing, nothing
    width = sums.width
    ends = p[:, None] - steps[None, :]  # one row per position, one column per earlier window
    valid = (ends - width + 1 >= sums.first) & (ends < (p - width + 1)[:, None])
    matrix = np.where(valid, sums(name, ends), np.nan)
    median = nanmedian_rows(matrix)
    mad = nanmedian_rows(np.abs(matrix - median[:, None]))
    return median, mad


def nanmedian_rows(matrix: Array) -> Array:
    """Row medians ignoring NaN (NaN where a row has none); np.nanmedian is slow on small rows."""
    ordered = np.sort(matrix, axis=1)  # NaN sort last
    return sorted_median(ordered, np.sum(~np.isnan(ordered), axis=1))


def sorted_median(ordered: Array, valid: Array) -> Array:
    """Row medians of rows sorted with their NaN last, `valid` values in each."""
    low = np.clip((valid - 1) // 2, 0, None)[:, None]
    high = np.clip(valid // 2, 0, None)[:, None]
    median = (np.take_along_axis(ordered, low, axis=1) + np.take_along_axis(ordered, high, axis=1))[
        :, 0
    ] / 2
    return np.where(valid > 0, median, np.nan)


def usual_share(sums: Sums, p: Array, baseline_days: int, per_day: int) -> Array:
    """Usual negative share before each window: over the baseline days, or over the last
    day if that is higher (a share drifting up is not a burst); a prior when thin."""
    end = np.clip(p - sums.width + 1, 0, None)
    cn, ct = sums.tallies.prefix["n"], sums.tallies.prefix["t"]

    def share(span: int) -> Array:
        begin = np.clip(end - span, 0, None)
        prior = SHARE_PRIOR
        return (cn[end] - cn[begin] + prior * DEFAULT_SHARE) / (ct[end] - ct[begin] + prior)

    usual = share(baseline_days * per_day)
    if RECENT_SHARE_HOURS:
        usual = np.maximum(usual, share(RECENT_SHARE_HOURS * per_day // 24))
    return usual


def share_z(n: Array, big_n: Array, usual: Array) -> Array:
    """One-sided binomial z of `n` negatives among `big_n` mentions against share `usual`."""
    var = np.maximum(big_n * usual * (1 - usual), 1e-9)
    return (n - big_n * usual - 0.5) / np.sqrt(var)


def share_dispersion(
    sums: Sums, p: Array, lags: list[int], usual: Array, obs_total: Array
) -> Array:
    """How much wider than a binomial the share test must be for the current window.

    Shares wander more than coin flips (topical days, bots): with an intra-class
    correlation rho the variance of a window of N mentions is N p (1-p) (1 + (N-1) rho)
    (beta-binomial). rho is estimated from the same test on the baseline windows (at
    `lags`), whose z-scores should have spread 1, and applied at the current N, so a window
    four times busier than usual (a campaign) is not judged as if it were usual.
    """
    ends = p[:, None] - np.array(lags)[None, :]
    valid = ends - sums.width + 1 >= sums.first
    sizes = sums("t", ends)
    z = share_z(sums("n", ends), sizes, usual[:, None])
    z = np.where(valid & (sizes > 0), z, np.nan)
    enough = np.sum(~np.isnan(z), axis=1) >= 3
    z[~enough] = 0.0
    center = nanmedian_rows(z)
    spread = 1.4826 * nanmedian_rows(np.abs(z - center[:, None]))
    counted = np.maximum(np.sum(valid, axis=1), 1)
    mean_size = np.sum(np.where(valid, sizes, 0.0), axis=1) / counted
    rho = np.clip((spread**2 - 1) / np.maximum(mean_size - 1, 1), 0, 1)
    inflation = np.sqrt(1 + np.maximum(obs_total - 1, 0) * rho)
    return np.where(enough, np.maximum(inflation, 1.0), 1.0)
