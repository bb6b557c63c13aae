"""`pulso backtest`: what the detector would have alerted on, from past counts or mentions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from models.engines import ENGINE_NAMES
from monitor.detection.backtest import (
    BacktestAlert,
    BacktestInputError,
    BacktestReport,
    Row,
    backtest_report,
    mentions_to_rows,
    read_counts,
    read_mentions,
    summary,
)
from monitor.detection.rules import Metric
from monitor.settings import ConfigError, DetectorSettings, Silence, load_settings

EXIT_INPUT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `backtest` subcommand's options."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--counts", type=Path, help="CSV: timestamp,total[,negative]")
    source.add_argument("--mentions", type=Path, help="JSONL: created_at, text[, label]")
    parser.add_argument(
        "--metric",
        choices=("negative", "volume", "both"),
        help="negative: the negative_spike rule; volume: volume_spike; both, as the daemon "
        "runs them (default: both when the data have negatives, else volume)",
    )
    parser.add_argument("--config", help="take detector settings (and silences) from this file")
    parser.add_argument("--brand", help="with --config: this brand's settings")
    parser.add_argument("--out", type=Path, help="write the alerts here instead of stdout")
    parser.add_argument(
        "--budget",
        type=float,
        help="alerts per week for the calibrated rule (default: the settings' "
        "alert_budget, 0.5): what another budget would have sent",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        help="--mentions: sentiment engine for unlabelled mentions (default: the config's)",
    )


def run_backtest(args: argparse.Namespace) -> int:
    """Run the backtest the arguments describe; JSON lines out, a summary on stderr."""
    try:
        settings, silences, engine = _settings(args.config, args.brand)
        if args.budget is not None:
            settings = _with_budget(settings, args.budget)
        rows = _rows(args, settings, args.engine or engine)
        chosen: str = args.metric or ("both" if rows[0][2] is not None else "volume")
        metrics: list[Metric] = ["negative", "volume"] if chosen == "both" else [_metric(chosen)]
        reports = {m: backtest_report(rows, m, settings, silences) for m in metrics}
    except (BacktestInputError, ConfigError) as exc:
        sys.stderr.write(f"pulso backtest: {exc}\n")
        return EXIT_INPUT
    if len(reports) == 2:
        reports["volume"] = _held(reports["volume"], reports["negative"].alerts)
    alerts = sorted((a for r in reports.values() for a in r.alerts), key=lambda a: a.fired_at)
    lines = "".join(json.dumps(a.to_json(), ensure_ascii=False) + "\n" for a in alerts)
    if args.out:
        args.out.write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    for metric, report in reports.items():
        sys.stderr.write(f"pulso backtest ({metric}): {summary(report.alerts, rows)}\n")
        sys.stderr.write(
            f"pulso backtest ({report.rule}) thresholds at the end: {report.thresholds}\n"
        )
    return 0


def _held(volume: BacktestReport, negative: list[BacktestAlert]) -> BacktestReport:
    """The volume alerts the daemon would send beside `negative`'s: one incident per
    brand, so none opens while a negative one is open."""

    def held(alert: BacktestAlert) -> bool:
        return any(
            n.fired_at <= alert.fired_at
            and (n.resolved_at is None or alert.fired_at < n.resolved_at)
            for n in negative
        )

    kept = [a for a in volume.alerts if not held(a)]
    return BacktestReport(kept, volume.rule, volume.thresholds)


def _metric(name: str) -> Metric:
    """`negative` or `volume`, typed."""
    return "negative" if name == "negative" else "volume"


def _with_budget(settings: DetectorSettings, budget: float) -> DetectorSettings:
    """`settings` with another alert budget, validated as the config file's would be."""
    if not 0 < budget <= 100:
        raise BacktestInputError(f"--budget must be above 0 and at most 100, not {budget:g}")
    volume = settings.volume_spike.model_copy(update={"alert_budget": None})
    return settings.model_copy(update={"alert_budget": budget, "volume_spike": volume})


def _settings(
    config: str | None, brand_id: str | None
) -> tuple[DetectorSettings, tuple[Silence, ...], str]:
    if config is None:
        if brand_id:
            raise BacktestInputError("--brand needs --config")
        return DetectorSettings(), (), "auto"
    loaded = load_settings(config)
    if brand_id is None:
        return loaded.detector, (), loaded.sentiment.engine
    brand = next((b for b in loaded.brands if b.id == brand_id), None)
    if brand is None:
        known = ", ".join(b.id for b in loaded.brands)
        raise BacktestInputError(f"{config}: no brand {brand_id!r} (brands: {known})")
    return brand.detector, brand.silences, loaded.sentiment.engine


def _rows(args: argparse.Namespace, settings: DetectorSettings, engine: str) -> list[Row]:
    if args.counts is not None:
        rows = read_counts(args.counts)
        if args.metric == "negative" and rows[0][2] is None:
            raise BacktestInputError(f"{args.counts}: --metric negative needs a negative column")
        return rows
    bucket = settings.bucket_minutes * 60
    rows = mentions_to_rows(read_mentions(args.mentions), _labeller(engine), bucket)
    if not rows:
        raise BacktestInputError(f"{args.mentions}: no mentions")
    return rows


def _labeller(engine: str) -> Any:
    def label(texts: list[str]) -> list[str]:
        from models.engines import EngineOptions, build_scorer

        scorer = build_scorer(EngineOptions(engine=engine))
        return [s.label for s in scorer.score(texts)]

    return label
