"""Scaled mode on PostgreSQL: scoring throughput with 1 and 2 workers, the delay from a
mention stored to its score stored under load, and one idle worker's memory.

    .venv/bin/python -m benchmarks.scaleout [--texts 1200] [--engine auto] [--load-seconds 60]

Real `pulso worker` processes (procrastinate) on a throwaway database of the local server
(PULSO_TEST_POSTGRES, default postgresql+psycopg://postgres@127.0.0.1:5432). Mentions are
stored `pending` and their score jobs queued the way a collect task does; the workers share
the `score` queue. Each worker scores on one thread (sentiment.threads: 1), the setting for
one worker per core. Every phase starts fresh workers, so no cache carries over, and all
texts are distinct posts of the bundled demo data.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from benchmarks.digest_speed import postgres_database
from benchmarks.sentiment_speed import texts as demo_texts
from monitor.kernel.records import Mention

ROOT = Path(__file__).parents[1]
WARM_UP = 128
SERVER = os.environ.get("PULSO_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


def write_config(folder: Path, url: str, engine: str, batch: int, threads: int = 1) -> Path:
    empty = folder / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    config: dict[str, Any] = {
        "database_url": url,
        "brands": [
            {
                "id": "acme",
                "name": "ACME",
                "keywords": ["ACME"],
                "languages": ["en", "es"],
                "sources": {"replay": {"path": str(empty), "interval_seconds": 86_400}},
            }
        ],
        "notifiers": {"console": {}},
        "sentiment": {"engine": engine, "threads": threads},
        "worker": {"tick_seconds": 5, "score_batch": batch},
        "service": {"http_enabled": False},
    }
    path = folder / f"pulso-{threads}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


class Workers:
    """`pulso worker` processes, started together and stopped with SIGTERM."""

    def __init__(self, config: Path, count: int, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSO_")}
        env["HF_HUB_OFFLINE"] = "1"
        self.log = log.open("ab")
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "monitor.cli.main", "worker", "--config", str(config)],
                cwd=ROOT,
                env=env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
            for _ in range(count)
        ]

    def rss_mb(self) -> list[float]:
        sizes = []
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status").read_text()
            kb = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
            )
            sizes.append(kb / 1024)
        return sizes

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=60)
        self.log.close()


class Feeder:
    """Stores pending mentions and queues their score jobs, as a collect task would."""

    def __init__(self, config: Path) -> None:
        from monitor.runtime import build_runtime
        from monitor.service.worker import build_app, ensure_queue_schema
        from monitor.settings import load_settings

        self.rt = build_runtime(load_settings(config))
        ensure_queue_schema(self.rt.engine)
        self.app = build_app(self.rt).open()
        self.batch = self.rt.settings.worker.score_batch
        self.next_id = 0

    def feed(self, texts: list[str]) -> list[int]:
        from monitor.storage.mentions import store_mentions

        now = datetime.now(UTC)
        mentions = []
        for body in texts:
            self.next_id += 1
            mentions.append(
                Mention(
                    source="x",
                    external_id=str(self.next_id),
                    url=None,
                    author_handle=f"user{self.next_id % 500}",
                    author_name=None,
                    author_followers=None,
                    text=f"ACME {body}",
                    lang=None,
                    created_at=now - timedelta(seconds=1),
                )
            )
        ids: list[int] = []
        with self.rt.sessions.begin() as session:
            store_mentions(session, "acme", mentions, None, None, ids)
        for start in range(0, len(ids), self.batch):
            self.app.tasks["pulso.score"].defer(ids=ids[start : start + self.batch])
        return ids

    def pending(self) -> int:
        with self.rt.engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM mentions WHERE sentiment_label = 'pending'")
                ).scalar_one()
            )

    def wait_scored(self, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise RuntimeError("scoring did not finish")
            time.sleep(0.1)

    def delays(self, ids: list[int]) -> list[float]:
        with self.rt.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT extract(epoch FROM scored_at - collected_at) FROM mentions"
                    " WHERE id = ANY(:ids)"
                ),
                {"ids": ids},
            )
            return [float(row[0]) for row in rows]

    def close(self) -> None:
        self.app.close()
        self.rt.close()


def throughput(feeder: Feeder, config: Path, workers: int, pool: list[str], log: Path) -> float:
    """Mentions scored per second by `workers` fresh workers, after a warm-up.

    Every phase warms up on the same first texts and is timed on the same others.
    """
    cluster = Workers(config, workers, log)
    try:
        feeder.feed(pool[:WARM_UP])  # model loading in each worker
        feeder.wait_scored()
        started = time.perf_counter()
        feeder.feed(pool[WARM_UP:])
        feeder.wait_scored()
        elapsed = time.perf_counter() - started
    finally:
        cluster.stop()
    return (len(pool) - WARM_UP) / elapsed


def delay_under_load(
    feeder: Feeder, config: Path, rate: float, seconds: float, pool: list[str], log: Path
) -> list[float]:
    """Feed `rate` mentions/s to 2 workers for `seconds`; each mention's store→score delay."""
    cluster = Workers(config, 2, log)
    ids: list[int] = []
    try:
        feeder.feed(pool[: feeder.batch * 4])
        feeder.wait_scored()
        started = time.monotonic()
        fed = 0
        position = feeder.batch * 4
        while time.monotonic() - started < seconds:
            due = int((time.monotonic() - started) * rate) - fed
            if due > 0:
                chunk = [pool[(position + k) % len(pool)] + f" #{position + k}" for k in range(due)]
                position += due
                ids += feeder.feed(chunk)
                fed += due
            time.sleep(0.25)
        feeder.wait_scored()
    finally:
        cluster.stop()
    return feeder.delays(ids)


def idle_memory(config: Path, log: Path) -> float:
    cluster = Workers(config, 1, log)
    try:
        time.sleep(15)
        return cluster.rss_mb()[0]
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1200)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--load-share", type=float, default=0.7, help="of the 2-worker rate")
    args = parser.parse_args()
    pool = demo_texts(args.texts)
    print(
        f"cores: {os.cpu_count()}; engine {args.engine}, one thread per worker; "
        f"{len(pool)} distinct texts, batches of {args.batch}"
    )
    with tempfile.TemporaryDirectory() as folder, postgres_database(SERVER) as url:
        config = write_config(Path(folder), url, args.engine, args.batch)
        log = Path(folder) / "workers.log"
        feeder = Feeder(config)
        try:
            idle = idle_memory(config, log)
            print(f"idle worker: {idle:.0f} MB RSS")
            one = throughput(feeder, config, 1, pool, log)
            print(f"1 worker:  {one:.1f} mentions/s scored")
            two = throughput(feeder, config, 2, pool, log)
            print(
                f"2 workers: {two:.1f} mentions/s scored; ratio {two / one:.2f}x (target >= 1.6x)"
            )
            threaded = write_config(Path(folder), url, args.engine, args.batch, threads=2)
            both = throughput(feeder, threaded, 1, pool, log)
            print(f"(1 worker on 2 threads: {both:.1f} mentions/s, {both / one:.2f}x)")
            rate = args.load_share * two
            delays = sorted(delay_under_load(feeder, config, rate, args.load_seconds, pool, log))
            p95 = delays[int(0.95 * (len(delays) - 1))]
            print(
                f"store -> score delay at {rate:.1f} mentions/s for {args.load_seconds:.0f} s "
                f"on 2 workers ({len(delays)} mentions): median {statistics.median(delays):.2f} s, "
                f"p95 {p95:.2f} s, max {delays[-1]:.2f} s"
            )
        finally:
            feeder.close()


if __name__ == "__main__":
    main()
