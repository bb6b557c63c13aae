"""Chaos in scaled mode: three `pulso worker` processes, one of them killed -9 at random.

The workers share the real PostgreSQL server and collect from a replay file (a week of
chatter and a negative burst that must alert) and from the fake Mastodon instance (new
posts arrive throughout); alerts go to the fake Slack. Every 5-15 s a worker picked by a
seeded RNG is killed with SIGKILL, and started again a moment later. Then the cluster
settles and stops cleanly, and nothing may be lost, stored twice, posted twice or stuck.

`make test` runs it for 60 s of chaos (about 1.5 min in all, up to 4 when a collection is
killed between storing a page and queueing its scores: those wait for housekeeping's
2 min); the full run is `PULSO_CHAOS_SECONDS=180 pytest -s tests/test_chaos.py`
(`PULSO_CHAOS_SEED` picks the kills; -s shows the figures).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.mastodon_api import FakeMastodon, make_status
from tests.fakes.slack_api import FakeSlack
from tests.helpers import COMPLAINTS, ORDINARY, mention, series, write_jsonl
from tests.test_worker import Cluster, cluster_factory, worker_config

__all__ = ["cluster_factory"]  # the fixture, used by name below

# Read at import: the autouse fixture clears PULSO_* variables before each test.
CHAOS_SECONDS = float(os.environ.get("PULSO_CHAOS_SECONDS", "60"))
SEED = int(os.environ.get("PULSO_CHAOS_SEED", "14"))
WORKERS = 3
GLOBEX_IDS = 10_000_000  # Globex's posts' numbers, apart from ACME's
POST_EVERY = 3.0  # seconds between new posts on the fake Mastodon instance
# A worker silent this long is dead. Not worker_config's 3 s: a new worker's first score
# batch loads its models for a few seconds with its heartbeat late, and on a loaded CI
# machine 3 s makes a live worker look dead (its job then runs twice).
HEARTBEAT, STALLED_AFTER = 1, 6


class Chaos:
    """The kills and restarts, with a live feed of posts while they happen."""

    def __init__(self, cluster: Cluster, env: dict[str, str], mastodon: FakeMastodon) -> None:
        self.cluster, self.env, self.mastodon = cluster, env, mastodon
        self.rng = random.Random(SEED)
        self.slots: list[subprocess.Popen[bytes]] = []
        self.ids: list[int] = []  # each slot's worker id in procrastinate_workers
        self.posted: list[str] = []
        self.kills: list[tuple[float, int, list[str]]] = []  # when, slot, jobs then running
        self._next_post = time.monotonic()

    def start(self) -> None:
        """Start the workers one by one, learning each one's id in procrastinate's table."""
        for slot in range(WORKERS):
            self.slots.append(self.launch(slot))

    def launch(self, slot: int) -> subprocess.Popen[bytes]:
        """A new worker for `slot`, once it has registered."""
        known = self.newest()
        worker = self.cluster.start(self.env)

        def registered() -> bool:
            return bool(self.newest() > known)

        self.feed_until(registered, 60.0)
        assert registered(), self.cluster.tail()
        if slot < len(self.ids):
            self.ids[slot] = self.newest()
        else:
            self.ids.append(self.newest())
        return worker

    def newest(self) -> int:
        # None before the first worker has made procrastinate's tables
        return int(
            self.cluster.scalar("SELECT coalesce(max(id), 0) FROM procrastinate_workers") or 0
        )

    def run(self, seconds: float) -> None:
        """Kill a random worker every 5-15 s, and start it again 0.5-3 s later.

        Half the kills (by the same RNG) wait up to 3 s more for the victim to be running a
        job: with light work most instants find a worker idle, and a kill mid-job is the
        case that matters.
        """
        started = time.monotonic()
        end = started + seconds
        while True:
            pause = self.rng.uniform(5, 15)
            if time.monotonic() + pause > end:
                self.feed(end - time.monotonic())
                return
            self.feed(pause)
            slot = self.rng.randrange(WORKERS)
            if self.rng.random() < 0.5:
                self.feed_until(partial(self.running, slot), 3.0)
            running = self.running(slot)
            victim = self.slots[slot]
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            self.kills.append((time.monotonic() - started, slot, running))
            self.feed(self.rng.uniform(0.5, 3.0))
            self.slots[slot] = self.launch(slot)

    def running(self, slot: int) -> list[str]:
        """The jobs the worker in `slot` is running."""
        return [
            row[0]
            for row in self.cluster.query(
                "SELECT task_name FROM procrastinate_jobs WHERE status = 'doing'"
                " AND worker_id = :w",
                w=self.ids[slot],
            )
        ]

    def feed_until(self, check: Callable[[], object], seconds: float) -> None:
        """Feed until `check` holds, for `seconds` at most."""
        end = time.monotonic() + seconds
        while not check() and time.monotonic() < end:
            self.feed(0.1)

    def feed(self, seconds: float) -> None:
        """Wait `seconds`, publishing a post on the fake Mastodon every POST_EVERY s."""
        end = time.monotonic() + max(0.0, seconds)
        while (now := time.monotonic()) < end:
            if now >= self._next_post:
                self.post()
                self._next_post = now + POST_EVERY
            time.sleep(min(0.2, end - now))

    def post(self) -> None:
        n = len(self.posted)
        created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        status = make_status(
            n, f"<p>ACME parcel {n} is on its way</p>", tag="acme", created_at=created
        )
        status["language"] = "en"
        self.mastodon.add(status)
        self.posted.append(status["uri"])


def globex_posts(burst_at: datetime) -> list[dict[str, Any]]:
    """A week of Globex chatter up to now, then 40 complaints from `burst_at` on, 0.5 s apart
    (replayed at their own times: the burst arrives in the middle of the chaos)."""
    rng = random.Random(SEED)
    posts = []
    start = burst_at - timedelta(days=7)
    for i in range(int((datetime.now(UTC) - start) / timedelta(minutes=5))):
        _, text = ORDINARY[rng.randrange(len(ORDINARY))]
        at = start + timedelta(minutes=5 * i, seconds=rng.randrange(300))
        posts.append(mention(GLOBEX_IDS + i, text.replace("ACME", "Globex"), at))
    for k in range(40):
        text = COMPLAINTS[k % len(COMPLAINTS)].format(k=k).replace("ACME", "Globex")
        at = burst_at + timedelta(seconds=k / 2)
        posts.append(mention(GLOBEX_IDS + 100_000 + k, text.replace("@acme", "@globex"), at))
    return sorted(posts, key=lambda m: m["created_at"])


def chaos_config(
    tmp_path: Path, postgres_url: str, slack: FakeSlack, mastodon: str, globex: Path
) -> Path:
    """ACME on a replay file and the fake Mastodon; Globex on a replay file that is still to
    come; alerts to the fake Slack."""
    replay = write_jsonl(tmp_path / "acme.jsonl", series())
    config = worker_config(
        tmp_path / "pulso.yaml",
        postgres_url,
        replay,
        notifiers={"slack": {"channel": "#cx-alerts", "api_url": slack.base_url}},
    )
    settings = yaml.safe_load(config.read_text())
    settings["worker"].update(heartbeat_seconds=HEARTBEAT, stalled_after_seconds=STALLED_AFTER)
    acme = settings["brands"][0]
    # Small replay pages: a collection commits many pages, and a kill can fall between two.
    acme["sources"]["replay"].update(page_size=100, interval_seconds=5)
    acme["sources"]["mastodon"] = {
        "instances": [mastodon],
        "hashtags": ["acme"],
        "interval_seconds": 5,
        "timeout_seconds": 5,
    }
    replay_globex = {"path": str(globex), "align": "none", "page_size": 100, "interval_seconds": 5}
    settings["brands"].append(
        {
            "id": "globex",
            "name": "Globex",
            "keywords": ["Globex", "@globex"],
            "sources": {"replay": replay_globex},
        }
    )
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config


def test_three_workers_killed_at_random_lose_nothing_and_repeat_nothing(
    tmp_path: Path,
    postgres_url: str,
    fake_slack: FakeSlack,
    cluster_factory: Callable[[Path, str], Cluster],
) -> None:
    with FakeMastodon() as mastodon:
        # Its burst comes after the workers' start (about 10 s), 40% into the chaos.
        burst_at = datetime.now(UTC) + timedelta(seconds=10 + 0.4 * CHAOS_SECONDS)
        replayed = series() + globex_posts(burst_at)
        globex = write_jsonl(tmp_path / "globex.jsonl", replayed[len(series()) :])
        config = chaos_config(tmp_path, postgres_url, fake_slack, mastodon.base_url, globex)
        cluster = cluster_factory(config, postgres_url)
        chaos = Chaos(cluster, {"PULSO_SLACK_BOT_TOKEN": fake_slack.token}, mastodon)
        chaos.start()
        began = time.time()
        chaos.run(CHAOS_SECONDS)
        ended = time.time()
        settle(cluster, fake_slack, len(replayed) + len(chaos.posted))
        codes = cluster.stop()
    final_jobs = cluster_rows(
        postgres_url,
        "SELECT task_name, status, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2",
    )
    logs = {log.name: log.read_text() for log in cluster.logs}
    report(chaos, cluster, fake_slack, ended - began, final_jobs, codes)

    # Every worker alive at the end stopped cleanly; the others were killed by the test.
    killed = len(chaos.kills)
    # (a kill every 5-15 s, then up to 3 s and a start-up before the next pause begins)
    assert codes.count(-signal.SIGKILL) == killed and killed >= CHAOS_SECONDS // 20
    assert codes.count(0) == WORKERS, cluster.tail()

    # Every mention stored once, linked to its brand once, and scored.
    expected = {str(m["external_id"]) for m in replayed} | set(chaos.posted)
    stored = [row[0] for row in cluster_rows(postgres_url, "SELECT external_id FROM mentions")]
    print(
        f"  mentions: {len(expected)} expected, {len(stored)} stored, {len(set(stored))} distinct"
    )
    assert Counter(stored).most_common(1)[0][1] == 1
    assert set(stored) == expected
    assert scalar(postgres_url, "SELECT count(*) FROM mention_brands") == len(expected)
    assert scalar(postgres_url, "SELECT count(*) FROM mentions WHERE scored_at IS NULL") == 0
    assert scalar(postgres_url, "SELECT count(*) FROM quarantine") == 0

    # The burst is one incident, posted to Slack once; no message went out twice.
    alerts = cluster_rows(postgres_url, "SELECT id, brand, rule FROM alerts ORDER BY brand")
    assert [(brand, rule) for _, brand, rule in alerts] == [
        ("acme", "negative_spike"),
        ("globex", "negative_spike"),
    ]
    messages = fake_slack.messages
    print(f"  alerts: {len(alerts)}; slack messages: {len(messages)}")
    roots = [m for m in messages if not m.get("thread_ts")]
    assert len(roots) == len(alerts), messages
    keys = [m["metadata"]["event_payload"]["key"] for m in messages]
    assert len(keys) == len(set(keys)), keys
    replies = Counter((m["thread_ts"], m["text"]) for m in messages if m.get("thread_ts"))
    assert all(n == 1 for n in replies.values()), replies
    assert scalar(postgres_url, "SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0

    # No job stuck or failing: the only failed jobs are those left by a killed worker and
    # closed, because the same job was queued again meanwhile or it was a tick (one
    # warning each).
    statuses = Counter({(task, status): n for task, status, n in final_jobs})
    assert not [key for key in statuses if key[1] not in ("succeeded", "todo", "failed")]
    closed = sum(
        text.count("so this one is closed") + text.count("closed (the next tick covers")
        for text in logs.values()
    )
    assert sum(n for (_, status), n in statuses.items() if status == "failed") == closed

    # The tick never wedged: succeeded ticks cover the whole run with no long gap.
    stamps = sorted(
        row[0]
        for row in cluster_rows(
            postgres_url,
            "SELECT (args->>'timestamp')::bigint FROM procrastinate_jobs"
            " WHERE task_name = 'pulso.tick' AND status = 'succeeded'",
        )
    )
    assert stamps[0] <= began + 5 and stamps[-1] >= ended
    gaps = [b - a for a, b in pairwise(stamps)]
    # A tick on a killed worker holds the tick's lock until it is seen dead (heartbeat
    # silent for STALLED_AFTER s) and closed; then the next tick runs.
    print(f"  ticks succeeded: {len(stamps)}, longest gap {max(gaps)} s")
    assert max(gaps) <= 2 * STALLED_AFTER, gaps

    # SIGKILL leaves no trace in a log; nothing else may print a traceback.
    assert not [name for name, text in logs.items() if "Traceback" in text], cluster.tail()


def settle(cluster: Cluster, slack: FakeSlack, mentions: int) -> None:
    """Wait until the survivors have finished what the chaos left behind."""
    cluster.wait(
        "every mention stored and scored",
        lambda: (
            cluster.scalar("SELECT count(*) FROM mentions WHERE sentiment_label <> 'pending'")
            == mentions
        ),
        timeout=300,  # a score batch lost with its worker waits for housekeeping (2 min)
    )
    cluster.wait("both alerts in Slack", lambda: len(slack.messages) >= 2)
    cluster.wait(
        "the outbox delivered",
        lambda: cluster.scalar("SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0,
    )
    cluster.wait(
        "no job left on a dead worker",
        lambda: (
            cluster.scalar(
                "SELECT count(*) FROM procrastinate_jobs j"
                " LEFT JOIN procrastinate_workers w ON w.id = j.worker_id"
                " WHERE j.status = 'doing'"
                " AND (w.id IS NULL OR w.last_heartbeat < now() - interval '2 seconds')"
            )
            == 0
        ),
        timeout=60,
    )
    ticks = cluster.scalar(
        "SELECT count(*) FROM procrastinate_jobs"
        " WHERE task_name = 'pulso.tick' AND status = 'succeeded'"
    )
    cluster.wait(  # and a few more ticks, for any late double post to show
        "five more ticks",
        lambda: (
            cluster.scalar(
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE task_name = 'pulso.tick' AND status = 'succeeded'"
            )
            >= ticks + 5
        ),
    )


def cluster_rows(database_url: str, sql: str) -> list[Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


def scalar(database_url: str, sql: str) -> Any:
    return cluster_rows(database_url, sql)[0][0]


def report(
    chaos: Chaos,
    cluster: Cluster,
    slack: FakeSlack,
    seconds: float,
    jobs: list[Any],
    codes: list[int | None],
) -> None:
    """The run's figures, shown with -s or when the test fails."""
    print(f"\nchaos: {seconds:.0f} s, seed {SEED}, {len(chaos.kills)} kills -9, exit codes {codes}")
    for at, slot, running in chaos.kills:
        print(f"  {at:6.1f} s: killed worker {slot} running {sorted(running)}")
    hit = sum(bool(running) for _, _, running in chaos.kills)
    print(f"  kills that hit a running job: {hit}")
    print(f"  mastodon posts published: {len(chaos.posted)}; slack messages: {len(slack.messages)}")
    texts = [log.read_text() for log in cluster.logs]
    requeued = sum(t.count("was running on a worker that stopped; queued again") for t in texts)
    closed = sum(t.count("so this one is closed") for t in texts)
    ticks = sum(t.count("closed (the next tick covers") for t in texts)
    print(f"  jobs of killed workers: {requeued} queued again, {closed} closed, {ticks} ticks")
    for task, status, n in jobs:
        print(f"  job {task:20} {status:10} {n}")


def test_a_tick_left_by_a_dead_worker_is_closed_so_ticks_go_on(postgres_url: str) -> None:
    # The tick holds the lock 'tick' while it runs, and only a tick queues again the jobs of
    # dead workers: a worker killed mid-tick stopped every later tick for good (found by
    # the chaos test). The rescue job, which takes no lock, closes it.
    import asyncio
    from types import SimpleNamespace

    import procrastinate

    from monitor.service.worker import conninfo, ensure_queue_schema
    from monitor.service.worker_tasks import close_dead_ticks
    from monitor.storage.engine import make_engine, session_factory

    engine = make_engine(postgres_url)
    ensure_queue_schema(engine)
    worker = SimpleNamespace(stalled_after_seconds=10)
    rt: Any = SimpleNamespace(
        sessions=session_factory(engine), settings=SimpleNamespace(worker=worker)
    )

    async def scenario() -> tuple[bool, list[int], bool, int | None, int]:
        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(postgres_url))
        )
        tick = app.task(name="pulso.tick", queue="tick", lock="tick", queueing_lock="tick")(
            lambda timestamp: None
        )
        async with app.open_async():
            dead_tick = await tick.defer_async(timestamp=100)
            dead = await app.job_manager.register_worker()
            taken = await app.job_manager.fetch_job(queues=None, worker_id=dead)
            assert taken is not None and taken.id == dead_tick
            live_tick = await tick.defer_async(timestamp=101)
            live = await app.job_manager.register_worker()
            alive_meanwhile = await asyncio.to_thread(close_dead_ticks, rt)
            await app.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
                f" WHERE id = {dead}"
            )
            wedged = await app.job_manager.fetch_job(queues=None, worker_id=live) is None
            closed = await asyncio.to_thread(close_dead_ticks, rt)
            after = await app.job_manager.fetch_job(queues=None, worker_id=live)
            return wedged, alive_meanwhile, closed == [dead_tick], after and after.id, live_tick

    try:
        wedged, alive_meanwhile, closed, fetched, live_tick = asyncio.run(scenario())
    finally:
        engine.dispose()
    assert wedged  # without the rescue: no tick can run
    assert alive_meanwhile == []  # a tick on a worker still beating is left alone
    assert closed  # the dead worker's tick, and only it
    assert fetched == live_tick  # the next tick runs
