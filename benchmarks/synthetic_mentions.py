"""Synthetic per-brand mention counts with known bursts, for judging spike detectors.

Each brand gets 5-minute buckets of (total, negative) counts shaped like real traffic:
a daily rhythm (night trough, day peak, in the brand's own time zone), a weekly one
(weekends lower or higher), over-dispersed noise (gamma-Poisson per bucket, plus a
slower day-level random effect), a negative share that drifts as a bounded random walk,
holidays at 40-60% of the usual volume, and happy volume spikes (x3-x8 for 30 min to 3 h,
negative share unchanged or lower). After the warm-up weeks, negative bursts are
injected, and the ground truth says where they are.

Burst sizes are relative to the usual negatives for that time and day: the rhythm times
the drifting share, holidays included, but not the day-level noise nor the bucket noise,
which no detector can know. A burst of size k adds k times those usual negatives over its
window (at least `FLOOR_PER_SIZE * k`, so that tiny brands get a handful); a ramp grows
linearly from nothing to k times the usual at its end. Burst starts are uniform over the
day; happy spikes start where people are online (weighted by the usual volume).

Pure numpy and stdlib, deterministic from the seed.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

BUCKET_MINUTES = 5
PER_DAY = 24 * 60 // BUCKET_MINUTES
PER_WEEK = 7 * PER_DAY
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday

SIZES = (1.0, 2.0, 4.0)
DURATIONS = {"15m": 15, "1h": 60, "3h": 180, "6h": 360, "ramp 2h": 120}
RAMP = "ramp 2h"
FLOOR_PER_SIZE = 3
SHARE_BOUNDS = (0.10, 0.35)
BURST_GAP = PER_DAY  # buckets between one burst's end and the next one's start, at least
HAPPY_CLEARANCE = 6 * 12  # buckets between a happy spike and any burst, at least

Row = tuple[datetime, int, int | None]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Burst:
    """An injected burst of negatives: [start, end), its size and duration label."""

    start: datetime
    end: datetime
    size: float
    duration: str
    extra: int  # negatives added
    usual: float  # usual negatives over the same window
    floored: bool  # `extra` was raised to the floor for small brands


@dataclass(frozen=True, slots=True)
class HappySpike:
    """A volume spike whose negative share stays normal or drops: [start, end)."""

    start: datetime
    end: datetime
    multiplier: float
    share_factor: float


@dataclass(frozen=True, eq=False)
class SyntheticBrand:
    """One brand's bucket rows and the ground truth behind them."""

    name: str
    peak_per_hour: float
    rows: list[Row]
    bursts: list[Burst]
    happy_spikes: list[HappySpike]
    holidays: list[date]
    warmup_end: datetime
    usual_total: Floats = field(repr=False)
    usual_negative: Floats = field(repr=False)

    @property
    def start(self) -> datetime:
        """The first bucket's start."""
        return self.rows[0][0]

    @property
    def end(self) -> datetime:
        """The end of the last bucket."""
        return self.rows[-1][0] + timedelta(minutes=BUCKET_MINUTES)


@functools.lru_cache(maxsize=8)
def _timestamps(start: datetime, count: int) -> tuple[datetime, ...]:
    step = timedelta(minutes=BUCKET_MINUTES)
    return tuple(start + step * i for i in range(count))


def _reflect(values: Floats, low: float, high: float) -> Floats:
    """Fold a random walk into [low, high] as if it bounced off both walls."""
    width = high - low
    folded = np.mod(values - low, 2 * width)
    return low + np.where(folded > width, 2 * width - folded, folded)


def _rhythm(
    rng: np.random.Generator, count: int, start: datetime
) -> tuple[Floats, npt.NDArray[np.int64]]:
    """The usual daily and weekly shape (peak hour = 1.0) and each bucket's local day."""
    tz_hours = int(rng.integers(-8, 3))
    peak_hour = rng.uniform(11, 21)
    trough = rng.uniform(0.08, 0.25)
    sharpness = rng.uniform(1.0, 2.5)
    weekend = rng.uniform(0.6, 1.3)
    minutes = np.arange(count) * BUCKET_MINUTES + start.hour * 60 + start.minute + tz_hours * 60
    hours = (minutes / 60) % 24
    daily = trough + (1 - trough) * ((1 + np.cos(2 * np.pi * (hours - peak_hour) / 24)) / 2) ** (
        sharpness
    )
    day = np.floor_divide(minutes, 24 * 60)
    weekday = (start.weekday() + day) % 7
    shape = daily * np.where(weekday >= 5, weekend, 1.0)
    return shape, day.astype(np.int64)


def _day_effects(rng: np.random.Generator, days: int) -> Floats:
    """Slow day-level log effects, AR(1) so that good and bad days come in runs."""
    sd, phi = rng.uniform(0.08, 0.2), 0.7
    effects = np.empty(days)
    effects[0] = rng.normal(0, sd)
    for d in range(1, days):
        effects[d] = phi * effects[d - 1] + math.sqrt(1 - phi**2) * rng.normal(0, sd)
    return effects


def share_walk(rng: np.random.Generator, count: int) -> Floats:
    """The usual negative share: a slow random walk bounded by SHARE_BOUNDS."""
    weekly_drift = rng.uniform(0.03, 0.06)
    steps = rng.normal(0, weekly_drift / math.sqrt(PER_WEEK), count)
    start = rng.uniform(0.12, 0.30)
    return _reflect(start + np.cumsum(steps), *SHARE_BOUNDS)


def place_bursts(
    rng: np.random.Generator,
    first: int,
    weeks: float,
    per_week: int,
    specs: Sequence[tuple[float, str]] | None,
    avoid: Sequence[tuple[int, int]] = (),
) -> list[tuple[int, int, float, str]]:
    """(start, length, size, label) per slot; slots keep bursts >= BURST_GAP apart.

    A burst keeps HAPPY_CLEARANCE buckets away from each [start, end) of `avoid`; a
    slot with no room for that is left empty.
    """
    slot = PER_WEEK // per_week
    slots = int(weeks * per_week)
    if specs is None:
        specs = [(float(rng.choice(SIZES)), str(rng.choice(list(DURATIONS)))) for _ in range(slots)]
    placed = []
    for n, (size, label) in enumerate(specs[:slots]):
        length = DURATIONS[label] // BUCKET_MINUTES
        begin = first + n * slot
        stop = begin + slot - BURST_GAP - length + 1
        starts = np.arange(begin, stop)
        free = np.ones(len(starts), dtype=bool)
        for a, b in avoid:
            free &= (starts + length + HAPPY_CLEARANCE <= a) | (b + HAPPY_CLEARANCE <= starts)
        if free.all():
            at = int(rng.integers(begin, stop))
        elif free.any():
            at = int(rng.choice(starts[free]))
        else:
            continue
        placed.append((at, length, size, label))
    return placed


def _place_happy(
    rng: np.random.Generator,
    weights: Floats,
    count: int,
    busy: list[tuple[int, int]],
) -> list[tuple[int, int]]:
    """(start, length) of happy spikes clear of the bursts and of each other."""
    placed: list[tuple[int, int]] = []
    p = weights / weights.sum()
    for _ in range(count):
        for _attempt in range(200):
            length = int(rng.integers(6, 37))  # 30 min to 3 h
            start = int(rng.choice(len(weights), p=p))
            if start + length > len(weights):
                continue
            taken = busy + [(s, s + n) for s, n in placed]
            if all(
                start + length + HAPPY_CLEARANCE <= a or b + HAPPY_CLEARANCE <= start
                for a, b in taken
            ):
                placed.append((start, length))
                break
    return sorted(placed)


def _apply_happy(
    rng: np.random.Generator,
    placed: list[tuple[int, int]],
    rate: Floats,
    share: Floats,
    stamps: tuple[datetime, ...],
) -> list[HappySpike]:
    """Scale the rate up (x3-x8) and the share down (x0.5-x1) over each happy spike."""
    spikes = []
    for s, n in placed:
        multiplier, factor = rng.uniform(3, 8), rng.uniform(0.5, 1.0)
        rate[s : s + n] *= multiplier
        share[s : s + n] *= factor
        end = stamps[s] + timedelta(minutes=BUCKET_MINUTES * n)
        spikes.append(HappySpike(stamps[s], end, multiplier, factor))
    return spikes


def inject_bursts(
    rng: np.random.Generator,
    placed: list[tuple[int, int, float, str]],
    usual_negative: Floats,
    total: npt.NDArray[np.int64],
    negative: npt.NDArray[np.int64],
    stamps: tuple[datetime, ...],
) -> list[Burst]:
    """Add each burst's extra negatives (to total too) and describe it."""
    bursts = []
    for s, n, size, label in placed:
        weights = usual_negative[s : s + n].copy()
        if label == RAMP:
            weights *= np.arange(1, n + 1) / n
        nominal = round(size * float(weights.sum()))
        floor = math.ceil(FLOOR_PER_SIZE * size)
        added = rng.multinomial(max(nominal, floor), weights / weights.sum())
        negative[s : s + n] += added
        total[s : s + n] += added
        end = stamps[s] + timedelta(minutes=BUCKET_MINUTES * n)
        usual = float(usual_negative[s : s + n].sum())
        bursts.append(
            Burst(stamps[s], end, size, label, max(nominal, floor), usual, nominal < floor)
        )
    return bursts


def generate_brand(
    seed: int,
    weeks: int = 6,
    peak_per_hour: float = 40.0,
    *,
    warmup_weeks: int = 2,
    bursts: Sequence[tuple[float, str]] | None = None,
    bursts_per_week: int = 2,
    happy_per_week: float = 1.0,
    holidays_per_week: float = 1 / 3,
    start: datetime = DEFAULT_START,
    name: str | None = None,
) -> SyntheticBrand:
    """One synthetic brand; `bursts` as (size, duration label) per slot, random if None."""
    if weeks <= warmup_weeks:
        raise ValueError("weeks must exceed warmup_weeks")
    rng = np.random.default_rng(seed)
    count = weeks * PER_WEEK
    shape, local_day = _rhythm(rng, count, start)
    day_index = local_day - local_day.min()
    days = int(day_index.max()) + 1
    holiday_factor = np.ones(days)
    holiday_days = rng.choice(days, size=min(days, round(holidays_per_week * weeks)), replace=False)
    holiday_factor[holiday_days] = rng.uniform(0.4, 0.6, len(holiday_days))
    share = share_walk(rng, count)
    usual_total = peak_per_hour / 12 * shape * holiday_factor[day_index]
    usual_negative = usual_total * share
    dispersion = rng.uniform(3.0, 10.0)
    rate = usual_total * np.exp(_day_effects(rng, days))[day_index]
    rate *= rng.gamma(dispersion, 1 / dispersion, count)
    concentration = rng.uniform(40, 150)
    bucket_share = rng.beta(share * concentration, (1 - share) * concentration)

    first = warmup_weeks * PER_WEEK
    placed = place_bursts(rng, first, weeks - warmup_weeks, bursts_per_week, bursts)
    busy = [(s, s + n + 6) for s, n, _, _ in placed]  # the 30 minutes after count as busy
    happy = _place_happy(rng, usual_total, round(happy_per_week * weeks), busy)
    stamps = _timestamps(start, count)
    happy_truth = _apply_happy(rng, happy, rate, bucket_share, stamps)
    total = rng.poisson(rate)
    negative = rng.binomial(total, bucket_share)
    burst_truth = inject_bursts(rng, placed, usual_negative, total, negative, stamps)
    rows: list[Row] = [
        (stamp, int(t), int(n)) for stamp, t, n in zip(stamps, total, negative, strict=True)
    ]
    return SyntheticBrand(
        name=name or f"brand-{seed}",
        peak_per_hour=peak_per_hour,
        rows=rows,
        bursts=burst_truth,
        happy_spikes=happy_truth,
        holidays=sorted(
            start.date() + timedelta(days=int(d + local_day.min())) for d in holiday_days
        ),
        warmup_end=stamps[first],
        usual_total=usual_total,
        usual_negative=usual_negative,
    )


def generate_brands(
    count: int,
    weeks: int = 6,
    seed: int = 0,
    *,
    peak_range: tuple[float, float] = (2.0, 200.0),
    warmup_weeks: int = 2,
    bursts_per_week: int = 2,
) -> list[SyntheticBrand]:
    """`count` brands, peaks log-stratified over `peak_range`, burst cells balanced."""
    rng = np.random.default_rng(seed)
    low, high = math.log(peak_range[0]), math.log(peak_range[1])
    step = (high - low) / count
    peaks = [math.exp(low + (j + rng.uniform()) * step) for j in range(count)]
    cells = list(itertools.product(SIZES, DURATIONS))
    per_brand = (weeks - warmup_weeks) * bursts_per_week
    specs = [cells[i % len(cells)] for i in range(count * per_brand)]
    order = rng.permutation(len(specs))
    specs = [specs[i] for i in order]
    seeds = rng.integers(0, 2**62, count)
    return [
        generate_brand(
            int(seeds[j]),
            weeks,
            peaks[j],
            warmup_weeks=warmup_weeks,
            bursts=specs[j * per_brand : (j + 1) * per_brand],
            bursts_per_week=bursts_per_week,
            name=f"brand-{j:03d}",
        )
        for j in range(count)
    ]
