"""How many Reddit mentions per second `collect` maps, dedupes and stores, end to end.

Run from the repository root: `.venv/bin/python benchmarks/collect_speed.py`
(20,000 mentions, well under two minutes) or `... --backfill 100000` for the peak memory
of a large backfill.

The real praw client talks to the fake Reddit API of `tests/fakes/reddit_api.py`, which
runs in a child process so that its JSON encoding does not share this process's core.
`monitor.pipeline.collect` then does what the daemon does: praw requests, mapping to
mentions, brand matching, the dedupe lookup, touchpoint tagging and the store with the
cursor, on a temporary SQLite file. Scoring is excluded: a stub scorer answers neutral
for every text, so the figures measure the pipeline around the model, not the model.

Reddit stops a sweep after `max_pages` (50 pages of 100), so the posts arrive in windows
of 5,000 newer posts, one `collect` per window, as they would between daemon runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from models.sentiment import Sentiment  # noqa: E402
from monitor.pipeline import collect  # noqa: E402
from monitor.runtime import build_runtime  # noqa: E402
from monitor.settings import load_settings  # noqa: E402
from monitor.storage.schema import MentionBrandRow, MentionRow  # noqa: E402
from tests.fakes.reddit_api import FakeReddit, submission  # noqa: E402
from tests.helpers import write_config  # noqa: E402

WINDOW = 5_000  # one sweep: max_pages (50) x page_size (100)
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
ENV = {"PULSO_REDDIT_CLIENT_ID": "app-id", "PULSO_REDDIT_CLIENT_SECRET": "app-secret"}
NEUTRAL = Sentiment("neutral", 0.0, 0.5, "en", "stub")
TEXTS = (
    "ACME lost my parcel again, third time this month",
    "Ordered a lamp from ACME, arrived early and well packed",
    "Does anyone know if ACME delivers on Sundays? Their app says nothing",
    "ACME support refunded me in ten minutes, impressed",
    "Tracking says delivered but no ACME parcel anywhere. Billing charged me twice",
    "New parcel lockers near the station, not sure who runs them",  # not about the brand
)


class NeutralScorer:
    """Scores every text neutral: the benchmark measures everything but the model."""

    name = "stub"

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """One neutral sentiment per text."""
        return [NEUTRAL] * len(texts)


def window(number: int) -> list[dict[str, Any]]:
    """The `number`th window of posts, each newer than every post of earlier windows."""
    posts = []
    for i in range(number * WINDOW, (number + 1) * WINDOW):
        text = TEXTS[i % len(TEXTS)]
        body = f"{text}. Order {100_000 + i}, posted from r/france."
        posts.append(submission(f"b{i:x}", T0 + i, f"Post {i}", body, author=f"user{i % 97}"))
    return posts


def serve(commands: Connection) -> None:
    """The fake Reddit API in a child process; each command installs a window of posts."""
    with FakeReddit() as fake:
        commands.send(fake.base_url)
        while (number := commands.recv()) is not None:
            fake.posts = window(number)
            # A budget that never runs out: praw would otherwise pace or stop the sweep.
            fake.remaining = 1_000_000.0
            commands.send(len(fake.posts))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(total: int, folder: Path, server: Connection) -> None:
    """Collect `total` posts window by window and print the figures."""
    base_url = server.recv()
    reddit = {
        "oauth_url": base_url,
        "reddit_url": base_url,
        "page_size": 100,
        "max_pages": WINDOW // 100,
    }
    config = write_config(folder / "pulso.yaml", folder / "unused.jsonl", folder / "bench.db")
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["brands"][0]["sources"] = {"reddit": reddit}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    settings = load_settings(config, environ={**os.environ, **ENV})
    rt = build_runtime(settings)
    rt.scorer = NeutralScorer()
    fetched = stored = 0
    elapsed = 0.0
    for number in range(max(1, total // WINDOW)):
        server.send(number)
        server.recv()
        started = time.perf_counter()
        report = collect(rt, "acme", "reddit")
        elapsed += time.perf_counter() - started
        fetched, stored = fetched + report.fetched, stored + report.stored
    again = collect(rt, "acme", "reddit")  # nothing new: stores nothing twice
    with rt.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(MentionRow))
        links = session.scalar(select(func.count()).select_from(MentionBrandRow))
    rt.close()
    server.send(None)
    print(f"cpu_count: {os.cpu_count()}  (fake Reddit API in a child process)")
    print("scoring: excluded (stub scorer, every text neutral)")
    print(f"fetched {fetched:,} posts, stored {stored:,} mentions in {elapsed:.1f} s")
    print(f"  {fetched / elapsed:,.0f} posts/s fetched, mapped and matched")
    print(f"  {stored / elapsed:,.0f} mentions/s stored (deduped, tagged, linked)")
    print(f"database: {rows:,} mentions, {links:,} brand links; re-collect stored {again.stored}")
    print(f"peak RSS (VmHWM) of the pipeline process: {peak_rss_mb():.0f} MB")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=50_000, help="posts to collect")
    parser.add_argument("--backfill", type=int, help="collect this many and report peak RSS")
    args = parser.parse_args(argv)
    total = args.backfill or args.mentions
    parent, child = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(target=serve, args=(child,))
    process.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            run(total, Path(folder), parent)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


if __name__ == "__main__":
    main()
