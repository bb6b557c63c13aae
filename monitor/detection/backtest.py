"""Replay a history of counts through the live detector and incident lifecycle.

`pulso backtest` reads counts (CSV) or raw mentions (JSONL), re-buckets them to the
detector's bucket, evaluates every bucket exactly as the daemon would at that bucket's
end, and lists the incidents that would have been opened.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from monitor.detection.budget import Counts
from monitor.detection.incidents import Incident
from monitor.detection.replay import replay
from monitor.detection.rules import Metric, SpikeRule
from monitor.detection.series import Series
from monitor.kernel.records import parse_utc
from monitor.settings import DetectorSettings, Silence

logger = logging.getLogger(__name__)

Row = tuple[datetime, int, int | None]
TOTAL_COLUMNS = ("total", "value", "count", "mentions", "volume")
NEGATIVE_COLUMNS = ("negative", "negatives", "neg")
TIME_COLUMNS = ("timestamp", "time", "datetime", "date", "ts", "created_at")


class BacktestInputError(ValueError):
    """The input file cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class BacktestAlert:
    """One incident the detector would have opened."""

    rule: str
    fired_at: datetime
    resolved_at: datetime | None
    severity: str
    observed: float
    baseline: float
    started_at: datetime
    peak: float
    peak_z: float
    escalated_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with ISO timestamps."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat().replace("+00:00", "Z") if value else None

        return {
            "rule": self.rule,
            "fired_at": iso(self.fired_at),
            "resolved_at": iso(self.resolved_at),
            "severity": self.severity,
            "observed": round(self.observed, 3),
            "baseline": round(self.baseline, 3),
            "started_at": iso(self.started_at),
            "peak": round(self.peak, 3),
            "peak_z": round(self.peak_z, 2),
            "escalated_at": iso(self.escalated_at),
        }


def rule_for(metric: Metric) -> str:
    """The rule that watches `metric`."""
    return "negative_spike" if metric == "negative" else "volume_spike"


def to_series(rows: Sequence[Row], bucket_seconds: int, metric: Metric) -> Series:
    """Sum rows into consecutive buckets (rows may come at any regular interval)."""
    if not rows:
        raise BacktestInputError("no rows to backtest")
    index = np.array([int(r[0].timestamp()) // bucket_seconds for r in rows], dtype=np.int64)
    start, end = int(index.min()), int(index.max())
    total = np.zeros(end - start + 1, dtype=np.int64)
    np.add.at(total, index - start, np.array([r[1] for r in rows], dtype=np.int64))
    negative = None
    if metric == "negative":
        if any(r[2] is None for r in rows):
            raise BacktestInputError("--metric negative needs a negative count on every row")
        negative = np.zeros_like(total)
        np.add.at(negative, index - start, np.array([r[2] for r in rows], dtype=np.int64))
    return Series(start, bucket_seconds, total, negative)


def interval_seconds(rows: Sequence[Row]) -> int:
    """The data's sampling interval: the most common gap between consecutive rows."""
    stamps = sorted({int(r[0].timestamp()) for r in rows})
    gaps = np.diff(np.array(stamps, dtype=np.int64))
    gaps = gaps[gaps > 0]
    if not len(gaps):
        return 0
    values, counts = np.unique(gaps, return_counts=True)
    return int(values[int(np.argmax(counts))])


def fit_settings(settings: DetectorSettings, interval: int) -> DetectorSettings:
    """Coarser data than the detector's bucket: judge on the data's own interval."""
    bucket = settings.bucket_minutes * 60
    if interval <= bucket or interval % 60 or DAY_SECONDS % interval:
        return settings
    minutes = interval // 60

    logger.warning(
        "data come every %d min, coarser than the %d-min bucket: judging %d-min buckets",
        minutes,
        settings.bucket_minutes,
        minutes,
    )
    return settings.model_copy(
        update={
            "bucket_minutes": minutes,
            "windows_minutes": tuple(
                sorted({max(1, math.ceil(w / minutes)) * minutes for w in settings.windows_minutes})
            ),
        }
    )


DAY_SECONDS = 86_400


def backtest_series(
    rows: Sequence[Row],
    metric: Metric,
    settings: DetectorSettings,
    silences: Sequence[Silence] = (),
) -> list[BacktestAlert]:
    """Every incident the live detector would have opened over `rows`, in time order."""
    return backtest_report(rows, metric, settings, silences).alerts


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """The alerts of a backtest and the thresholds the rule judged by at its end."""

    alerts: list[BacktestAlert]
    rule: str
    thresholds: str  # `z >= 10.7, evidence >= 544 (calibrated ...)`, or the fixed z


def backtest_report(
    rows: Sequence[Row],
    metric: Metric,
    settings: DetectorSettings,
    silences: Sequence[Silence] = (),
) -> BacktestReport:
    """The backtest's alerts, with the thresholds in force at the end of the data."""
    settings = fit_settings(settings, interval_seconds(rows))
    rule = SpikeRule(rule_for(metric), settings)
    series = to_series(rows, rule.bucket, metric)

    def silenced(now: datetime) -> bool:
        return any(s.covers(rule.rule, now) for s in silences)

    found = replay(rule, series, settings, silenced)
    alerts = [_alert(r.incident, r.escalated_at) for r in found]
    return BacktestReport(alerts, rule.rule, thresholds(rule, series))


def thresholds(rule: SpikeRule, series: Series) -> str:
    """What `rule` would fire at after the last bucket of `series`, in words."""
    if rule.judge is None:
        warning, critical = rule.params.z_levels()
        return f"fixed: z >= {warning:g} for a warning, >= {critical:g} critical"
    last = np.array([len(series) - 1])
    calibrated = rule.judge.calibrate(Counts.of(series), series.first_data(), last)
    z, cusum = calibrated.z[0], calibrated.cusum[0]
    return f"z >= {z.fire:.1f}, evidence >= {cusum.fire:.1f} ({z.describe(rule.budget)})"


def _alert(incident: Incident, escalated: datetime | None) -> BacktestAlert:
    assert incident.opened_at is not None
    return BacktestAlert(
        rule=incident.rule,
        fired_at=incident.opened_at,
        resolved_at=incident.resolved_at,
        severity=incident.severity,
        observed=incident.peak,
        baseline=incident.baseline,
        started_at=incident.started_at,
        peak=incident.peak,
        peak_z=incident.peak_z,
        escalated_at=escalated,
    )


def read_counts(path: Path) -> list[Row]:
    """`timestamp,total[,negative]` rows from a CSV file with a header."""
    with _open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        time_col = _column(header, TIME_COLUMNS, path, "timestamp")
        total_col = _column(header, TOTAL_COLUMNS, path, "total")
        negative_col = next((c for c in NEGATIVE_COLUMNS if c in header), None)
        names = {h.strip().lower(): h for h in reader.fieldnames or []}
        rows: list[Row] = []
        for line, record in enumerate(reader, start=2):
            try:
                stamp = parse_time(record[names[time_col]])
                total = _count(record[names[total_col]])
                negative = _count(record[names[negative_col]]) if negative_col else None
            except (ValueError, TypeError, KeyError) as exc:
                raise BacktestInputError(f"{path}: line {line}: {exc}") from None
            rows.append((stamp, total, negative))
    if not rows:
        raise BacktestInputError(f"{path}: no data rows")
    rows.sort(key=lambda r: r[0])
    return rows


def _open(path: Path, **options: Any) -> TextIO:
    """Open a text file, or say which one cannot be read."""
    try:
        handle: TextIO = path.open(**options)
    except OSError as exc:
        raise BacktestInputError(f"{path}: cannot read the file: {exc.strerror}") from None
    return handle


def _column(header: list[str], names: tuple[str, ...], path: Path, what: str) -> str:
    found = next((n for n in names if n in header), None)
    if found is None:
        raise BacktestInputError(
            f"{path}: header has no {what} column (expected one of {', '.join(names)};"
            f" found {', '.join(header) or 'nothing'})"
        )
    return found


def _count(text: str | None) -> int:
    if text is None or not text.strip():
        raise ValueError("empty count")
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"count must be a non-negative number, not {text!r}")
    return round(value)


def parse_time(text: str) -> datetime:
    """ISO 8601 (naive means UTC) or epoch seconds."""
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    return parse_utc(text.replace(" ", "T", 1) if "T" not in text else text)


@dataclass(frozen=True, slots=True)
class RawMention:
    """A mention line of `--mentions` input."""

    created_at: datetime
    text: str
    label: str | None


def read_mentions(path: Path) -> Iterator[RawMention]:
    """JSONL objects with `created_at`, `text` and an optional `label`."""
    with _open(path, encoding="utf-8", errors="replace") as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
                stamp = parse_time(str(data["created_at"]))
                label = data.get("label")
                if label is not None and label not in ("negative", "neutral", "positive"):
                    raise ValueError(f"label must be negative, neutral or positive, not {label!r}")
                yield RawMention(stamp, str(data.get("text") or ""), label)
            except (ValueError, KeyError, TypeError) as exc:
                raise BacktestInputError(f"{path}: line {line}: {exc!s}") from None


def mentions_to_rows(
    mentions: Iterable[RawMention], label_texts: Any, bucket_seconds: int
) -> list[Row]:
    """Bucket mentions into counts, asking `label_texts(texts)` for missing labels."""
    items = list(mentions)
    missing = [i for i, m in enumerate(items) if m.label is None]
    labels = [m.label for m in items]
    if missing:
        scored = label_texts([items[i].text for i in missing])
        for i, label in zip(missing, scored, strict=True):
            labels[i] = label
    buckets: dict[int, list[int]] = {}
    for mention, label in zip(items, labels, strict=True):
        key = int(mention.created_at.timestamp()) // bucket_seconds
        slot = buckets.setdefault(key, [0, 0])
        slot[0] += 1
        slot[1] += label == "negative"
    return [
        (datetime.fromtimestamp(k * bucket_seconds, UTC), t, n)
        for k, (t, n) in sorted(buckets.items())
    ]


def summary(alerts: Sequence[BacktestAlert], rows: Sequence[Row]) -> str:
    """`3 alerts over 8.0 weeks (0.38 per week); 1 critical`."""
    span = (rows[-1][0] - rows[0][0]).total_seconds() / (7 * DAY_SECONDS) if rows else 0.0
    weeks = max(span, 1 / 7)
    critical = sum(a.severity == "critical" for a in alerts)
    return (
        f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''} over {span:.1f} weeks "
        f"({len(alerts) / weeks:.2f} per week); {critical} critical"
    )
