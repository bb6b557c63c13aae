"""Pulso's volume-spike detector scored by NAB's standard profile on real Twitter mention counts.

Run from the repository root:

    .venv/bin/python -m benchmarks.nab_realtweets [--data DIR]

DIR (default ../shared/data/detection/nab-realtweets, relative to the repository root) holds
CSV files of `timestamp,value` (Twitter mentions of one company per 5 minutes, Feb-Apr 2015),
`windows.json` (the labelled anomaly windows of each file) and `profile.json` (the scoring
profiles). Every CSV with an entry in windows.json goes through the detector in-process, as
`pulso backtest --counts FILE --metric volume` runs it: `read_counts`, then `backtest_series`
with default `DetectorSettings` (which fits the bucket to the data's interval itself).

Scoring follows NAB's sweeper with the standard profile, as `../shared/tools/nab_score.py` does:
each alert's fired_at becomes one detection at the first row at or after it; the earliest
detection in a window scores a sigmoid of its place in the window (1 at the window's start);
a window with no detection costs fnWeight; a detection outside every window costs fpWeight,
less right after a window; rows in the probation (the first 15 % of a file, at most 750 rows)
are not scored, nor are windows entirely in it. The total is normalised between the null
detector (0) and the perfect one (100). Also printed: volume alerts per brand-week outside
labelled windows (every alert, probation included, whose fired_at is in no window of its file).

Data: the realTweets files of the Numenta Anomaly Benchmark (NAB, Numenta, MIT licence),
https://github.com/numenta/NAB. Published standard-profile scores on these same five files
(AAPL, CRM, FB, IBM, PFE): CAD OSE 86.1, ARTime 82.0, Skyline 72.0, Numenta HTM 71.7,
KNN CAD 70.5, Twitter ADVec 62.7.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.detection.backtest import (  # noqa: E402
    BacktestAlert,
    BacktestInputError,
    backtest_series,
    parse_time,
    read_counts,
)
from monitor.settings import DetectorSettings  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "detection" / "nab-realtweets"
PROBATION_PERCENT = 0.15
PROBATION_CAP_ROWS = 5000  # NAB: the probation is at most PROBATION_PERCENT of 5000 rows
WEEK = timedelta(weeks=1)

Window = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Costs:
    """The weights of one NAB profile's cost matrix."""

    tp_weight: float
    fn_weight: float
    fp_weight: float


@dataclass(frozen=True, slots=True)
class FileScore:
    """One file's raw NAB score and the counts behind it (scorable rows and windows only)."""

    raw: float
    true_positives: int
    false_negatives: int
    false_positives: int
    windows: int


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file's detector run, its NAB score and its alerts outside labelled windows."""

    name: str
    alerts: int
    detections: int
    score: FileScore
    outside: int
    weeks: float


def load_costs(path: Path, profile: str = "standard") -> Costs:
    """The cost matrix of `profile` in a NAB profile file."""
    matrix = json.loads(path.read_text(encoding="utf-8"))[profile]["CostMatrix"]
    return Costs(
        tp_weight=float(matrix["tpWeight"]),
        fn_weight=float(matrix["fnWeight"]),
        fp_weight=float(matrix["fpWeight"]),
    )


def load_windows(path: Path) -> dict[str, list[Window]]:
    """Each file's labelled anomaly windows (naive timestamps are UTC)."""
    raw: dict[str, list[list[str]]] = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: [(parse_time(start), parse_time(end)) for start, end in pairs]
        for name, pairs in raw.items()
    }


def scaled_sigmoid(x: float) -> float:
    """NAB's scaled sigmoid: 2 / (1 + e^(5x)) - 1, and -1 beyond x = 3."""
    return -1.0 if x > 3.0 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def probation_rows(length: int, percent: float = PROBATION_PERCENT) -> float:
    """Rows before this index are in NAB's probation and not scored."""
    return min(math.floor(percent * length), percent * PROBATION_CAP_ROWS)


def window_rows(times: Sequence[datetime], windows: Iterable[Window]) -> list[tuple[int, int]]:
    """Each window as (first row, last row): the rows at or after its start, up to its end."""
    return [
        (bisect.bisect_left(times, start), bisect.bisect_right(times, end) - 1)
        for start, end in windows
    ]


def detection_rows(times: Sequence[datetime], detections: Iterable[datetime]) -> list[int]:
    """The distinct rows at or after each detection time (detections after the last row drop)."""
    rows = {bisect.bisect_left(times, at) for at in detections}
    return sorted(row for row in rows if row < len(times))


def row_weights(
    length: int, windows: Sequence[tuple[int, int]], costs: Costs
) -> tuple[list[float], list[int]]:
    """What a detection at each row would score, and the window each row is in (-1: none)."""
    max_tp = scaled_sigmoid(-1.0)
    weights = [0.0] * length
    owner = [-1] * length
    previous: tuple[int, float] | None = None  # last window's right row and width
    current: tuple[int, int, float] | None = None  # window id, right row, width
    upcoming = 0
    for i in range(length):
        if current is None and upcoming < len(windows) and i == windows[upcoming][0]:
            left, right = windows[upcoming]
            current = (upcoming, right, float(right - left + 1))
            upcoming += 1
        if current is not None:
            window, right, width = current
            weights[i] = scaled_sigmoid(-(right - i + 1) / width) * costs.tp_weight / max_tp
            owner[i] = window
            if i == right:
                previous, current = (right, width), None
        elif previous is None:
            weights[i] = -costs.fp_weight
        else:
            right, width = previous
            weights[i] = scaled_sigmoid(abs(right - i) / (width - 1)) * costs.fp_weight
    return weights, owner


def score_rows(
    length: int, detections: Iterable[int], windows: Sequence[tuple[int, int]], costs: Costs
) -> FileScore:
    """NAB's raw score of detections (row indices) against windows (row ranges, in order)."""
    weights, owner = row_weights(length, windows, costs)
    probation = probation_rows(length)
    scored = {owner[i] for i in range(length) if i >= probation and owner[i] >= 0}
    earliest: dict[int, int] = {}
    raw, false_positives = 0.0, 0
    for row in sorted(set(detections)):
        if row < probation:
            continue
        if owner[row] >= 0:
            earliest.setdefault(owner[row], row)
        else:
            raw += weights[row]
            false_positives += 1
    true_positives = sum(window in earliest for window in scored)
    raw += sum(weights[earliest[w]] for w in scored if w in earliest)
    raw -= costs.fn_weight * (len(scored) - true_positives)
    return FileScore(
        raw=raw,
        true_positives=true_positives,
        false_negatives=len(scored) - true_positives,
        false_positives=false_positives,
        windows=len(scored),
    )


def nab_score(
    times: Sequence[datetime],
    detections: Iterable[datetime],
    windows: Iterable[Window],
    costs: Costs,
) -> FileScore:
    """NAB's raw score of one file: rows at `times` (sorted), detections and windows as times."""
    return score_rows(
        len(times), detection_rows(times, detections), window_rows(times, windows), costs
    )


def normalised_score(scores: Iterable[FileScore], costs: Costs) -> float:
    """The summed raw scores on NAB's scale: 0 for the null detector, 100 for the perfect one."""
    scores = list(scores)
    windows = sum(s.windows for s in scores)
    null, perfect = -costs.fn_weight * windows, costs.tp_weight * windows
    if perfect == null:
        return 0.0
    return 100.0 * (sum(s.raw for s in scores) - null) / (perfect - null)


def outside_windows(alerts: Iterable[BacktestAlert], windows: Sequence[Window]) -> int:
    """Alerts whose fired_at is inside no labelled window."""
    return sum(
        not any(start <= alert.fired_at <= end for start, end in windows) for alert in alerts
    )


def run_file(path: Path, windows: Sequence[Window], costs: Costs) -> FileResult:
    """Backtest one file as `pulso backtest --counts FILE --metric volume` does, then score it."""
    rows = read_counts(path)
    alerts = backtest_series(rows, "volume", DetectorSettings())
    times = [row[0] for row in rows]
    fired = [alert.fired_at for alert in alerts]
    return FileResult(
        name=path.name,
        alerts=len(alerts),
        detections=len(detection_rows(times, fired)),
        score=nab_score(times, fired, windows, costs),
        outside=outside_windows(alerts, windows),
        weeks=(times[-1] - times[0]) / WEEK,
    )


def labelled_files(data: Path, windows: dict[str, list[Window]]) -> list[Path]:
    """The CSV files in `data` that windows.json labels, by name."""
    return sorted(p for p in data.glob("*.csv") if p.name in windows)


def _per_week(count: int, weeks: float) -> str:
    return f"{count / weeks:.2f}" if weeks > 0 else "-"


def main(argv: Sequence[str] | None = None) -> None:
    """Backtest and score every labelled file, then print the total standard score."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the NAB files' folder")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    costs = load_costs(args.data / "profile.json")
    windows = load_windows(args.data / "windows.json")
    files = labelled_files(args.data, windows)
    if not files:
        sys.exit(f"{args.data}: no CSV file labelled in windows.json")
    print(f"cpu_count: {os.cpu_count()}")
    print("detector: monitor.detection.backtest.backtest_series, metric volume, default settings")
    results: list[FileResult] = []
    for path in files:
        try:
            result = run_file(path, windows[path.name], costs)
        except BacktestInputError as exc:
            sys.exit(f"backtest failed: {exc}")
        results.append(result)
        s = result.score
        print(
            f"{result.name}: alerts={result.alerts} detections={result.detections}"
            f" tp={s.true_positives} fn={s.false_negatives} fp={s.false_positives}"
            f" raw={s.raw:.2f}; outside windows {result.outside}"
            f" in {result.weeks:.1f} weeks ({_per_week(result.outside, result.weeks)}"
            " per brand-week)"
        )
    elapsed = time.perf_counter() - started
    outside = sum(r.outside for r in results)
    weeks = sum(r.weeks for r in results)
    print(
        f"volume alerts outside labelled windows: {outside} in {weeks:.1f} brand-weeks"
        f" ({_per_week(outside, weeks)} per brand-week, {sum(r.alerts for r in results)} alerts)"
    )
    print(f"elapsed: {elapsed:.2f} s for {len(results)} files")
    score = normalised_score((r.score for r in results), costs)
    print(f"NAB realTweets standard: {score:.1f}")


if __name__ == "__main__":
    main()
