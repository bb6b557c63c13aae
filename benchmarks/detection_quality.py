"""How well the spike detector finds injected negative bursts in synthetic brands.

Run from the repository root:

    .venv/bin/python benchmarks/detection_quality.py [--brands N] [--weeks W] [--seed S]

Brands come from `benchmarks.synthetic_mentions` (2 to 200 mentions an hour at peak,
the first two weeks warm-up). Each brand's whole series goes through
`monitor.detection.backtest.backtest_series` with default `DetectorSettings`; alerts fired in the
warm-up are ignored. An alert detects a burst if it fires between the burst's start and
30 minutes after its end; delay = fired_at - burst start. An alert that detects no burst
is false, unless it fires during a happy spike (same 30-minute grace), which is counted
on its own line: a negative-spike rule must never fire there.

Until `monitor.detection.backtest` exists, a naive threshold stand-in runs instead (with a warning
on stderr), so that the figures printed then describe the stand-in, not Pulso.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_mentions import (  # noqa: E402
    DURATIONS,
    SIZES,
    Row,
    SyntheticBrand,
    generate_brand,
    generate_brands,
)
from monitor.settings import DetectorSettings  # noqa: E402

GRACE = timedelta(minutes=30)
TIERS = ((0.0, 10.0), (10.0, 50.0), (50.0, float("inf")))  # peak mentions per hour
TICK_BRANDS = 1_000
YEAR_WEEKS = 52


class AlertLike(Protocol):
    """The fields of `monitor.detection.backtest.BacktestAlert` this benchmark reads."""

    @property
    def rule(self) -> str: ...
    @property
    def fired_at(self) -> datetime: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def severity(self) -> str: ...


Backtest = Callable[[list[Row], str, DetectorSettings], Sequence[AlertLike]]


def load_detector() -> tuple[Backtest, Callable[..., Any] | None, str]:
    """The detector the daemon runs, as `pulso backtest` drives it."""
    from monitor.detection.backtest import backtest_series

    return cast(Backtest, backtest_series), None, "monitor.detection.backtest.backtest_series"


@dataclass
class Tally:
    """Running totals over all brands."""

    bursts: dict[tuple[float, str], int] = field(default_factory=dict)
    detected: dict[tuple[float, str], int] = field(default_factory=dict)
    target_by_tier: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in TIERS])
    delays: dict[str, list[float]] = field(default_factory=lambda: {d: [] for d in DURATIONS})
    floored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DURATIONS, 0))
    target_nominal: list[int] = field(default_factory=lambda: [0, 0])
    alerts: int = 0
    false_alerts: int = 0
    happy_alerts: int = 0
    happy_hit: int = 0
    happy_spikes: int = 0
    brand_weeks: float = 0.0
    size_delays: dict[float, list[float]] = field(default_factory=lambda: {s: [] for s in SIZES})
    target_size: float = 2.0  # the recall target is about bursts this big or bigger ...
    target_recall: float = 0.9  # ... lasting at least 1 h, and asks this much


def is_target(size: float, duration: str, min_size: float = 2.0) -> bool:
    """The bursts the recall target is about: at least +2x (`min_size`), lasting >= 1 h."""
    return size >= min_size and DURATIONS[duration] >= 60


def score_brand(brand: SyntheticBrand, alerts: Sequence[AlertLike], tally: Tally) -> None:
    """Match one brand's post-warm-up alerts with its bursts and happy spikes."""
    scored = [a for a in alerts if a.fired_at >= brand.warmup_end]
    tally.alerts += len(scored)
    tally.brand_weeks += (brand.end - brand.warmup_end) / timedelta(weeks=1)
    first_fired: dict[int, datetime] = {}
    happy_hit: set[int] = set()
    for alert in scored:
        at = alert.fired_at
        burst = next(
            (k for k, b in enumerate(brand.bursts) if b.start <= at <= b.end + GRACE), None
        )
        if burst is not None:
            first_fired[burst] = min(at, first_fired.get(burst, at))
            continue
        happy = [k for k, h in enumerate(brand.happy_spikes) if h.start <= at <= h.end + GRACE]
        if happy:
            tally.happy_alerts += 1
            happy_hit.update(happy)
        else:
            tally.false_alerts += 1
    tally.happy_hit += len(happy_hit)
    tally.happy_spikes += sum(h.start >= brand.warmup_end for h in brand.happy_spikes)
    tier = next(t for t, (low, high) in enumerate(TIERS) if low <= brand.peak_per_hour < high)
    for k, b in enumerate(brand.bursts):
        cell = (b.size, b.duration)
        tally.bursts[cell] = tally.bursts.get(cell, 0) + 1
        tally.floored[b.duration] += b.floored
        found = k in first_fired
        if found:
            tally.detected[cell] = tally.detected.get(cell, 0) + 1
            delay = (first_fired[k] - b.start) / timedelta(minutes=1)
            tally.delays[b.duration].append(delay)
            tally.size_delays.setdefault(b.size, []).append(delay)
        if is_target(b.size, b.duration, tally.target_size):
            tally.target_by_tier[tier][0] += found
            tally.target_by_tier[tier][1] += 1
            if not b.floored:
                tally.target_nominal[0] += found
                tally.target_nominal[1] += 1


def _ratio(found: int, total: int) -> str:
    return f"{found / total:4.2f} {found:>3}/{total:<3}" if total else "   -        "


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def print_recall(tally: Tally) -> None:
    """The size x duration recall table, then the target line with its volume tiers."""
    print("recall by size x duration (detected/bursts):")
    print("        " + "".join(f"{d:<14}" for d in (*DURATIONS, "all")))
    for size in (*SIZES, None):
        cells = [(s, d) for s in SIZES for d in DURATIONS if size is None or s == size]
        line = [
            _ratio(
                sum(tally.detected.get(c, 0) for c in cells if c[1] == d),
                sum(tally.bursts.get(c, 0) for c in cells if c[1] == d),
            )
            for d in DURATIONS
        ]
        line.append(
            _ratio(
                sum(tally.detected.get(c, 0) for c in cells),
                sum(tally.bursts.get(c, 0) for c in cells),
            )
        )
        label = "all" if size is None else f"+{size:g}x"
        print(f"  {label:<6}" + "  ".join(line))
    found = sum(f for f, _ in tally.target_by_tier)
    total = sum(n for _, n in tally.target_by_tier)
    recall = found / total if total else 0.0
    print(
        f"recall, >= +{tally.target_size:g}x lasting >= 1 h: {recall:.2f} ({found}/{total})"
        f"   target >= {tally.target_recall:.2f}: {_verdict(recall >= tally.target_recall)}"
    )
    tiers = []
    for (low, high), (f, n) in zip(TIERS, tally.target_by_tier, strict=True):
        span = (
            f"< {high:g}/h"
            if low == 0
            else f">= {low:g}/h"
            if high == float("inf")
            else f"{low:g}-{high:g}/h"
        )
        tiers.append(f"peak {span}: {_ratio(f, n).strip()}")
    print("    by brand volume: " + ";  ".join(tiers))
    print(f"    at nominal size (not raised to the floor): {_ratio(*tally.target_nominal).strip()}")
    floored = ", ".join(f"{d} {n}" for d, n in tally.floored.items())
    print(f"bursts raised to the floor (small brands, night), by duration: {floored}")


def print_alerts(tally: Tally, metric: str, spikes: str = "happy spikes") -> None:
    """False alerts, alerts during happy spikes (or what `spikes` names), delays."""
    rate = tally.false_alerts / tally.brand_weeks if tally.brand_weeks else 0.0
    print(
        f"false alerts per brand-week: {rate:.2f} ({tally.false_alerts} in "
        f"{tally.brand_weeks:.0f} brand-weeks, {tally.alerts} alerts scored)"
        f"   target <= 0.5: {_verdict(rate <= 0.5)}"
    )
    target = f"   target 0: {_verdict(tally.happy_alerts == 0)}" if metric == "negative" else ""
    print(
        f"alerts during {spikes}: {tally.happy_alerts} "
        f"({tally.happy_hit} of {tally.happy_spikes} {spikes.split()[-1]}){target}"
    )
    delays = [d for values in tally.delays.values() for d in values]
    if not delays:
        print("delay: no burst detected")
        return
    median, p90 = np.percentile(delays, [50, 90])
    print(
        f"delay (detected bursts): median {median:.0f} min, p90 {p90:.0f} min"
        f"   target median <= 15 min: {_verdict(median <= 15)}"
    )
    by = [f"{d} {np.median(v):.0f}" for d, v in tally.delays.items() if v]
    print("    median by duration (min): " + ", ".join(by))


def tick_figure(tick_timing: Callable[..., Any] | None, settings: DetectorSettings) -> str:
    """One detection tick over TICK_BRANDS brands, as `backtest.tick_timing` times it.

    Assumed shape: `tick_timing(brands, settings) -> float` seconds (or `tick_timing(brands)`).
    """
    if tick_timing is None:
        return "timed on a real database by benchmarks/detection_tick.py"
    wanted = len(inspect.signature(tick_timing).parameters)
    result = tick_timing(TICK_BRANDS, settings) if wanted >= 2 else tick_timing(TICK_BRANDS)
    if isinstance(result, int | float):
        return f"{result * 1000:.1f} ms"
    return str(result)


def year_figure(backtest: Backtest, metric: str, settings: DetectorSettings, seed: int) -> str:
    """Wall time of the backtest over one brand's year of 5-minute buckets."""
    brand = generate_brand(seed, YEAR_WEEKS, 50.0)
    started = time.perf_counter()
    backtest(brand.rows, metric, settings)
    elapsed = time.perf_counter() - started
    return (
        f"{elapsed:.2f} s for {len(brand.rows)} rows ({elapsed / len(brand.rows) * 1e6:.1f} us/row)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Generate brands, backtest each, print the figures against their targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brands", type=int, default=60)
    parser.add_argument("--weeks", type=int, default=6, help="including 2 warm-up weeks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--metric", choices=("negative", "volume"), default="negative")
    parser.add_argument(
        "--year",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the backtest over one brand-year",
    )
    args = parser.parse_args(argv)
    settings = DetectorSettings()
    backtest, tick_timing, detector = load_detector()
    print(f"cpu_count: {os.cpu_count()}")
    print(f"detector: {detector}, metric {args.metric}, default DetectorSettings")
    started = time.perf_counter()
    brands = generate_brands(args.brands, args.weeks, args.seed)
    generated = time.perf_counter() - started
    tally = Tally()
    started = time.perf_counter()
    for brand in brands:
        score_brand(brand, backtest(brand.rows, args.metric, settings), tally)
    elapsed = time.perf_counter() - started
    rows = sum(len(b.rows) for b in brands)
    print(
        f"brands: {len(brands)}, weeks: {args.weeks} (2 warm-up), "
        f"bursts: {sum(tally.bursts.values())}, happy spikes scored: {tally.happy_spikes}"
    )
    print(f"generate {generated:.1f} s; backtest {elapsed:.1f} s for {rows} rows")
    print_recall(tally)
    print_alerts(tally, args.metric)
    print(f"one tick, {TICK_BRANDS} brands: {tick_figure(tick_timing, settings)}")
    if args.year:
        print(
            f"backtest, one brand-year: {year_figure(backtest, args.metric, settings, args.seed)}"
        )


if __name__ == "__main__":
    main()
