"""A daemon killed with SIGKILL mid-collection loses nothing and stores nothing twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.hn_api import FakeHN, JsonDict, Reply, comment, story

ROOT = Path(__file__).parents[1]
PER_PAGE = 20
ITEMS = 400  # 20 pages: at 0.15 s a page the sweep takes 3 s or more
PAGE_DELAY = 0.15
KILL_AFTER_REQUESTS = 6
RUN_TIMEOUT = 90.0


class SlowHN(FakeHN):
    """The fake HN API, answering each search a little late, like a real far-away API."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        """The normal answer, after `delay` seconds (this handler thread only)."""
        time.sleep(self.delay)
        return super().answer(path, params, headers)


def hits(now: int, count: int, first_id: int = 1000) -> list[JsonDict]:
    """Stories and comments about ACME over the last hours, three to a second.

    Three to a second puts hits of one second on both sides of some page boundaries,
    where a resumed sweep must neither repeat nor skip.
    """
    made: list[JsonDict] = []
    for i in range(count):
        object_id, created = first_id + i, now - 120 - (i // 3) * 60
        if i % 2:
            made.append(comment(object_id, created, f"<p>ACME reply number {i}</p>", first_id))
        else:
            made.append(story(object_id, created, f"ACME story number {i}"))
    return made


@pytest.fixture
def fake() -> Iterator[SlowHN]:
    server = SlowHN(PAGE_DELAY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def write_hn_config(path: Path, database: Path, api_url: str) -> Path:
    """One brand, ACME, on the Hacker News source only; VADER keeps scoring fast."""
    config: dict[str, Any] = {
        "database_url": f"sqlite:///{database}",
        "brands": [
            {
                "id": "acme",
                "name": "ACME",
                "keywords": ["ACME"],
                "sources": {
                    "hackernews": {
                        "api_url": api_url,
                        "hits_per_page": PER_PAGE,
                        "max_pages": 50,
                        "timeout_seconds": 10,
                    }
                },
            }
        ],
        "notifiers": {"console": {}},
        "sentiment": {"engine": "vader"},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def pulso_once(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start `pulso run --once` as its own process, its output going to `log`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSO_")}
    env["HF_HUB_OFFLINE"] = "1"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor.cli.main", "run", "--config", str(config), "--once"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stored(database: Path) -> list[str]:
    """External ids of the stored HN mentions linked to ACME, one entry per link."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT m.external_id FROM mentions m JOIN mention_brands b ON b.mention_id = m.id"
            " WHERE m.source = 'hackernews' AND b.brand = 'acme'"
        ).fetchall()
    return [external_id for (external_id,) in rows]


def assert_no_duplicates(database: Path) -> None:
    with sqlite3.connect(database) as db:
        twice = db.execute(
            "SELECT source, external_id, COUNT(*) FROM mentions"
            " GROUP BY source, external_id HAVING COUNT(*) > 1"
        ).fetchall()
        links = db.execute(
            "SELECT mention_id, brand, COUNT(*) FROM mention_brands"
            " GROUP BY mention_id, brand HAVING COUNT(*) > 1"
        ).fetchall()
        (mentions,) = db.execute("SELECT COUNT(*) FROM mentions").fetchone()
        (linked,) = db.execute("SELECT COUNT(*) FROM mention_brands").fetchone()
    assert twice == [] and links == []
    assert mentions == linked  # every mention is about ACME, once


def cursor(database: Path) -> dict[str, Any]:
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT value FROM source_cursors WHERE brand = 'acme' AND source = 'hackernews'"
        ).fetchone()
    assert row is not None, "pages were stored without their cursor"
    return dict(json.loads(row[0]))


def newest_first(items: list[JsonDict]) -> list[str]:
    """Ids in the order search_by_date pages through them."""
    ordered = sorted(items, key=lambda h: (h["created_at_i"], int(h["objectID"])), reverse=True)
    return [str(h["objectID"]) for h in ordered]


def wait(process: subprocess.Popen[bytes], log: Path) -> None:
    try:
        code = process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"pulso run --once did not finish in {RUN_TIMEOUT} s:\n{log.read_text()}")
    assert code == 0, log.read_text()


def kill_mid_collection(fake: SlowHN, process: subprocess.Popen[bytes], log: Path) -> int:
    """SIGKILL the process once a few pages were served; return how many were asked for."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while len(fake.requests) < KILL_AFTER_REQUESTS and process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the first run asked for no pages in time:\n{log.read_text()}")
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    code = process.wait(timeout=30)
    asked = len(fake.requests)
    if code != -signal.SIGKILL:
        pytest.fail(
            f"the first run ended by itself (exit {code}) before it could be killed; "
            f"make PAGE_DELAY longer:\n{log.read_text()}"
        )
    return asked


def test_sigkill_mid_collection_then_restart_stores_everything_once(
    tmp_path: Path, fake: SlowHN
) -> None:
    now = int(time.time())
    fake.add(*hits(now, ITEMS))
    order = newest_first(fake.hits)
    database = tmp_path / "pulso.db"
    config = write_hn_config(tmp_path / "pulso.yaml", database, fake.base_url)
    log = tmp_path / "pulso.log"

    asked = kill_mid_collection(fake, pulso_once(config, log), log)
    assert asked < ITEMS // PER_PAGE, "the whole sweep was fetched before the kill"

    # Killed mid-sweep: whole pages only, each with its cursor, nothing twice.
    assert_no_duplicates(database)
    partial = stored(database)
    state = cursor(database)
    sweep = state["terms"]["ACME"]
    assert state["pending"] == ["ACME"], state
    pages = sweep["page"]
    assert 1 <= pages <= asked, (pages, asked)
    assert sorted(partial) == sorted(order[: pages * PER_PAGE]), log.read_text()
    assert sweep["until"] == fake.hits[0]["created_at_i"]  # the pinned upper bound

    wait(pulso_once(config, log), log)
    assert_no_duplicates(database)
    assert sorted(stored(database)) == sorted(order)
    after = cursor(database)
    assert after["pending"] == [] and after["terms"]["ACME"]["since"] == now - 120
    # The restart resumed on the page it stopped at instead of starting over.
    restarted = fake.requests[asked:]
    assert [int(r["params"]["page"]) for r in restarted] == list(range(pages, ITEMS // PER_PAGE))

    # The cursor saved after the restart still works: only the new posts come next,
    # including one in the very second of the newest one already stored.
    fake.add(
        story(5000, now - 120, "ACME in the same second as the newest"),
        comment(5001, now - 30, "ACME again", 5000),
        story(5002, now - 5, "ACME, the latest"),
    )
    wait(pulso_once(config, log), log)
    assert_no_duplicates(database)
    assert sorted(stored(database)) == sorted(newest_first(fake.hits))
