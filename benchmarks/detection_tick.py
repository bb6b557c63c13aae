"""Time one detection tick (every brand, both rules) on a SQLite database like the daemon's.

Builds a throwaway database with N brands and 29 days of mentions each (a few per hour,
with a daily rhythm), then runs `monitor.detection.lifecycle.detect_brand` for every brand
at three moments a minute apart; each tick reads every brand's 29 days of buckets again
(nothing is cached between ticks).

    python benchmarks/detection_tick.py [--brands 1000] [--per-hour 4]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from monitor.detection.lifecycle import detect_brand
from monitor.detection.rules import build_rules
from monitor.settings import BrandSettings
from monitor.storage.engine import make_engine, migrate, session_factory

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
DAYS = 29


def populate(path: Path, brands: int, per_hour: float, seed: int = 1) -> int:
    """Bulk-load mentions straight into the tables (the pipeline is not what is timed)."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    rng = np.random.default_rng(seed)
    start = int((NOW - timedelta(days=DAYS)).timestamp())
    buckets = DAYS * 288
    hours = (np.arange(buckets) * 5 / 60) % 24
    shape = 0.3 + 0.7 * np.exp(-(((hours - 15) / 5) ** 2))
    db = sqlite3.connect(path)
    mention_id = 0
    for b in range(brands):
        counts = rng.poisson(per_hour / 12 * shape)
        stamps = np.repeat(start + np.arange(buckets) * 300, counts) + rng.integers(
            0, 300, int(counts.sum())
        )
        labels = rng.choice(["negative", "neutral", "positive"], len(stamps), p=[0.2, 0.5, 0.3])
        ids = range(mention_id + 1, mention_id + 1 + len(stamps))
        mention_id += len(stamps)
        db.executemany(
            "INSERT INTO mentions (id, source, external_id, text, created_at, collected_at,"
            " likes, reposts, replies, is_repost, is_quote, sentiment_label, sentiment_score,"
            " sentiment_confidence, sentiment_engine)"
            " VALUES (?, 'x', ?, 'text', ?, ?, 0, 0, 0, 0, 0, ?, 0, 1, 'bench')",
            [
                (i, str(i), _iso(int(ts)), _iso(int(ts)), str(label))
                for i, ts, label in zip(ids, stamps, labels, strict=True)
            ],
        )
        db.executemany(
            "INSERT INTO mention_brands (mention_id, brand, created_ts) VALUES (?, ?, ?)",
            [(i, f"brand{b}", int(ts)) for i, ts in zip(ids, stamps, strict=True)],
        )
    db.commit()
    db.close()
    return mention_id


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.000000")


def main(argv: Sequence[str] | None = None) -> None:
    """Build the database, then time ticks."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brands", type=int, default=1000)
    parser.add_argument("--per-hour", type=float, default=4.0, help="mentions per brand-hour")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tick.db"
        started = time.perf_counter()
        mentions = populate(path, args.brands, args.per_hour)
        built = time.perf_counter() - started
        engine = make_engine(f"sqlite:///{path}")
        sessions = session_factory(engine)
        brands = [
            BrandSettings.model_validate(
                {
                    "id": f"brand{b}",
                    "name": f"Brand {b}",
                    "keywords": ["x"],
                    "sources": {"replay": {"path": "bundled"}},
                }
            )
            for b in range(args.brands)
        ]
        rules = build_rules(brands[0].detector)
        print(f"cpu_count: {os.cpu_count()}")
        print(
            f"brands: {args.brands}, mentions: {mentions:,} over {DAYS} days"
            f" ({built:.1f} s to build)"
        )
        for tick in range(3):
            now = NOW + timedelta(minutes=tick)
            started = time.perf_counter()
            with sessions.begin() as session:
                for brand in brands:
                    detect_brand(session, brand, rules, ["console"], now)
            elapsed = time.perf_counter() - started
            print(
                f"tick {tick + 1}: {elapsed:.2f} s for {args.brands} brands "
                f"({elapsed / args.brands * 1000:.1f} ms per brand, both rules)"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
