"""Time `monitor.digest.data.week_digest` on a large database (SQLite, or PostgreSQL).

Builds a throwaway database with one brand and N mentions spread evenly over the 9 ISO
weeks 2026-W39..W47 (6 sources, 20,000 authors, 40% tagged with a touchpoint, a few
alerts), then times the digest of the last week a few times.

    python benchmarks/digest_speed.py [--mentions 1000000] [--tz Europe/Madrid]
    python benchmarks/digest_speed.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, text

from monitor.digest.data import week_digest
from monitor.storage.engine import make_engine, migrate, session_factory

WEEK = "2026-W47"
START = datetime(2026, 9, 21, tzinfo=UTC)  # Monday of 2026-W39
END = datetime(2026, 11, 23, tzinfo=UTC)  # Monday after 2026-W47
SOURCES = ["x", "reddit", "bluesky", "mastodon", "hackernews", "rss"]
TOUCHPOINTS = ["delivery", "billing", "app", "support", "returns"]
LABELS = ["negative", "neutral", "positive"]
AUTHORS = 20_000
CHUNK = 100_000
MENTION_COLUMNS = (
    "id, source, external_id, author_handle, author_name, author_followers, text,"
    " created_at, collected_at, likes, reposts, replies, is_repost, is_quote,"
    " sentiment_label, sentiment_score, sentiment_confidence, sentiment_engine"
)


def chunks(total: int, seed: int = 1) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Rows for `mentions`, `mention_brands` and `mention_touchpoints`, CHUNK at a time."""
    rng = np.random.default_rng(seed)
    first, last = int(START.timestamp()), int(END.timestamp())
    followers = rng.integers(10, 100_000, AUTHORS)
    followers[rng.random(AUTHORS) < 0.4] = -1  # no follower count on that platform
    for low in range(0, total, CHUNK):
        n = min(CHUNK, total - low)
        ids = np.arange(low + 1, low + n + 1)
        stamps = np.sort(rng.integers(first, last, n))
        authors = rng.integers(0, AUTHORS, n)
        sources = rng.integers(0, len(SOURCES), n)
        labels = rng.choice(3, n, p=[0.25, 0.45, 0.3])
        likes = rng.poisson(3, n)
        tagged = rng.random(n) < 0.4
        tags = rng.integers(0, len(TOUCHPOINTS), n)
        mentions = []
        for i, ts, a, s, lab, lk in zip(ids, stamps, authors, sources, labels, likes, strict=True):
            at = datetime.fromtimestamp(int(ts), UTC).replace(tzinfo=None)
            f = int(followers[a])
            mentions.append(
                (int(i), SOURCES[s], str(i), f"user{a}", f"User {a}", None if f < 0 else f,
                 "text", at, at, int(lk), int(lk) // 3, 0, False, False, LABELS[lab],
                 0.0, 1.0, "bench")
            )  # fmt: skip
        yield {
            "mentions": mentions,
            "mention_brands": [
                (int(i), "acme", int(ts)) for i, ts in zip(ids, stamps, strict=True)
            ],
            "mention_touchpoints": [
                (int(i), TOUCHPOINTS[t]) for i, t, yes in zip(ids, tags, tagged, strict=True) if yes
            ],
        }


def alerts() -> list[tuple[Any, ...]]:
    """A couple of alerts a week, every other one still open."""
    rows = []
    for k in range(18):
        started = datetime.fromtimestamp(START.timestamp() + k * 3.5 * 86400, UTC)
        resolved = None if k % 2 else started + timedelta(hours=2)
        rule = "volume_spike" if k % 3 else "source_down:x"
        rows.append(
            ("acme", rule, "firing" if resolved is None else "resolved", "warning",
             started.replace(tzinfo=None), started.replace(tzinfo=None),
             None if resolved is None else resolved.replace(tzinfo=None), 10 + k, "{}")
        )  # fmt: skip
    return rows


ALERT_INSERT = (
    "INSERT INTO alerts (brand, rule, status, severity, started_at, last_firing_at,"
    " resolved_at, peak_negative, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def populate_sqlite(path: Path, total: int) -> None:
    """Bulk-load straight into the tables (the pipeline is not what is timed)."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    db = sqlite3.connect(path)
    iso = "%Y-%m-%d %H:%M:%S.000000"
    for chunk in chunks(total):
        db.executemany(
            f"INSERT INTO mentions ({MENTION_COLUMNS}) VALUES ({', '.join('?' * 18)})",
            [(*r[:7], r[7].strftime(iso), r[8].strftime(iso), *r[9:]) for r in chunk["mentions"]],
        )
        db.executemany(
            "INSERT INTO mention_brands (mention_id, brand, created_ts) VALUES (?, ?, ?)",
            chunk["mention_brands"],
        )
        db.executemany(
            "INSERT INTO mention_touchpoints (mention_id, touchpoint) VALUES (?, ?)",
            chunk["mention_touchpoints"],
        )
    iso_alerts = [
        (*r[:4], r[4].strftime(iso), r[5].strftime(iso), r[6] and r[6].strftime(iso), *r[7:])
        for r in alerts()
    ]
    db.executemany(ALERT_INSERT, iso_alerts)
    db.commit()
    db.close()


def populate_postgres(engine: Engine, total: int) -> None:
    """Bulk-load with COPY, then ANALYZE (as autovacuum would soon after a load)."""
    migrate(engine)
    raw: Any = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            for chunk in chunks(total):
                for table, columns in (
                    ("mentions", MENTION_COLUMNS),
                    ("mention_brands", "mention_id, brand, created_ts"),
                    ("mention_touchpoints", "mention_id, touchpoint"),
                ):
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in chunk[table]:
                            copy.write_row(row)
            cursor.executemany(ALERT_INSERT.replace("?", "%s"), alerts())
        raw.commit()
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute("ANALYZE")
    finally:
        raw.close()


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A throwaway database on `server`, dropped afterwards."""
    server = server.rstrip("/")
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    name = f"pulso_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def time_digest(engine: Engine, tz: str, runs: int) -> None:
    """Print the time of each digest of the last week, and its headline."""
    sessions = session_factory(engine)
    for run in range(runs):
        started = time.perf_counter()
        with sessions() as session:
            digest = week_digest(session, "acme", WEEK, tz)
        elapsed = time.perf_counter() - started
        print(f"run {run + 1}: week_digest({WEEK}, {tz}) in {elapsed:.2f} s")
    now = digest.headline.current
    print(
        f"  {now.mentions:,} mentions this week, {now.unique_authors:,} authors,"
        f" net {now.net_sentiment}, {len(digest.incidents)} incidents,"
        f" {len(digest.by_source)} sources, {len(digest.voices)} voices"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Build the database, then time the digest."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--tz", default="Europe/Madrid")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="server URL (no database name)")
    args = parser.parse_args(argv)
    print(f"cpu_count: {os.cpu_count()}")
    started = time.perf_counter()
    if args.postgres:
        with postgres_database(args.postgres) as url:
            engine = make_engine(url)
            populate_postgres(engine, args.mentions)
            print(f"postgresql: {args.mentions:,} mentions over 9 weeks", end=" ")
            print(f"({time.perf_counter() - started:.1f} s to build)")
            time_digest(engine, args.tz, args.runs)
            engine.dispose()
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "digest.db"
        populate_sqlite(path, args.mentions)
        print(f"sqlite: {args.mentions:,} mentions over 9 weeks", end=" ")
        print(f"({time.perf_counter() - started:.1f} s to build)")
        engine = make_engine(f"sqlite:///{path}")
        time_digest(engine, args.tz, args.runs)
        engine.dispose()


if __name__ == "__main__":
    main()
