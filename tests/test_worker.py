"""Scaled mode: `pulso worker` processes on the real PostgreSQL server, with procrastinate."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from monitor.cli.main import main
from monitor.service.worker_tasks import falls_due
from tests.fakes.slack_api import FakeSlack
from tests.helpers import mention, series, write_config, write_jsonl

ROOT = Path(__file__).parents[1]
TICK = 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_config(path: Path, database_url: str, replay: Path, **extra: Any) -> Path:
    """ACME on a replay file, workers that tick every second and notice a death in 3 s."""
    settings: dict[str, Any] = {
        "database_url": database_url,
        "sentiment": {"engine": "vader"},
        "worker": {
            "tick_seconds": TICK,
            "heartbeat_seconds": 0.5,
            "stalled_after_seconds": 3,
            "score_batch": 50,
        },
        "service": {"http_enabled": False, "shutdown_grace_seconds": 10},
    }
    return write_config(path, replay, path.with_name("unused.db"), **{**settings, **extra})


def start_worker(
    config: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`pulso worker` as its own process, its output going to `log`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PULSO_")}
    environ.update(HF_HUB_OFFLINE="1", **(env or {}))
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor.cli.main", "worker", "--config", str(config)],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class Cluster:
    """Worker processes on one database, stopped (and their logs shown) at the end."""

    def __init__(self, tmp_path: Path, config: Path, database_url: str) -> None:
        self.tmp_path, self.config = tmp_path, config
        self.db = create_engine(database_url)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(
        self, env: dict[str, str] | None = None, config: Path | None = None
    ) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"worker{len(self.workers)}.log"
        self.logs.append(log)
        self.workers.append(start_worker(config or self.config, log, env))
        return self.workers[-1]

    def query(self, sql: str, **params: Any) -> list[Any]:
        try:
            with self.db.connect() as connection:
                return list(connection.execute(text(sql), params))
        except Exception:  # the tables may not exist yet
            return []

    def scalar(self, sql: str, **params: Any) -> Any:
        rows = self.query(sql, **params)
        return rows[0][0] if rows else None

    def wait(self, what: str, check: Callable[[], bool], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            for worker, log in zip(self.workers, self.logs, strict=True):
                if worker.poll() not in (None, 0, -signal.SIGKILL):  # 0: stopped by the test
                    raise AssertionError(f"a worker exited early:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")
            time.sleep(0.2)

    def tail(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-2500:]}" for log in self.logs)

    def stop(self) -> list[int | None]:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        codes = []
        for worker in self.workers:
            try:
                codes.append(worker.wait(timeout=30))
            except subprocess.TimeoutExpired:
                worker.kill()
                codes.append(None)
        self.db.dispose()
        return codes


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Callable[[Path, str], Cluster]]:
    made: list[Cluster] = []

    def make(config: Path, database_url: str) -> Cluster:
        made.append(Cluster(tmp_path, config, database_url))
        return made[-1]

    yield make
    for cluster in made:
        if any(worker.poll() is None for worker in cluster.workers):
            cluster.stop()


def test_two_workers_run_each_tick_once_and_post_each_alert_once(
    tmp_path: Path,
    postgres_url: str,
    fake_slack: FakeSlack,
    cluster_factory: Callable[[Path, str], Cluster],
) -> None:
    replay = write_jsonl(tmp_path / "acme.jsonl", series())
    config = worker_config(
        tmp_path / "pulso.yaml",
        postgres_url,
        replay,
        notifiers={
            "slack": {"channel": "#cx-alerts", "api_url": fake_slack.base_url},
            "console": {},
        },
    )
    cluster = cluster_factory(config, postgres_url)
    env = {"PULSO_SLACK_BOT_TOKEN": fake_slack.token}
    ports = [free_port(), free_port()]
    for port in ports:  # the same settings, each worker with its own endpoint
        settings = yaml.safe_load(config.read_text())
        settings["service"].update(http_enabled=True, host="127.0.0.1", port=port)
        own = config.with_name(f"pulso-{port}.yaml")
        own.write_text(yaml.safe_dump(settings), encoding="utf-8")
        cluster.start(env, own)
    total = len(series())
    cluster.wait(
        "every mention stored and scored",
        lambda: (
            cluster.scalar("SELECT count(*) FROM mentions WHERE sentiment_label <> 'pending'")
            == total
        ),
    )
    cluster.wait("the alert in Slack", lambda: len(fake_slack.messages) >= 1)
    cluster.wait(
        "both workers registered",
        lambda: cluster.scalar("SELECT count(*) FROM procrastinate_workers") == 2,
    )
    cluster.wait(  # more ticks, and time for any double post to show
        "ten ticks",
        lambda: (
            cluster.scalar(
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE task_name = 'pulso.tick' AND status = 'succeeded'"
            )
            >= 10
        ),
    )
    # Each replica answers /healthz, and their /metrics together count every score.
    scored = 0.0
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
            # 200 needs a live loop; the details would need PULSO_HEALTH_TOKEN.
            assert (reply.status, json.load(reply)) == (200, {"status": "ok"})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            families = text_string_to_metric_families(reply.read().decode())
            scored += sum(
                sample.value
                for family in families
                if family.name == "pulso_mentions_scored"
                for sample in family.samples
                if sample.name == "pulso_mentions_scored_total"
            )
    assert scored == total
    scorers = cluster.scalar(
        "SELECT count(DISTINCT worker_id) FROM procrastinate_jobs"
        " WHERE task_name = 'pulso.score' AND worker_id IS NOT NULL"
    )
    codes = cluster.stop()
    assert codes == [0, 0], cluster.tail()

    # Each tick deferred once, cluster-wide. (While every worker is busy, a period may get
    # no tick of its own: the next tick covers it, see test_a_late_tick_covers_the_periods.)
    stamps = [
        row[0]
        for row in cluster.query(
            "SELECT (args->>'timestamp')::bigint FROM procrastinate_jobs"
            " WHERE task_name = 'pulso.tick' ORDER BY 1"
        )
    ]
    assert len(stamps) >= 8
    # On a busy machine a lagging worker's deferrer may queue a period again after the
    # other worker's tick covered it (procrastinate keeps only the latest periodic defer):
    # that tick must do nothing, and say so.
    skipped = sum(log.read_text().count("already ran") for log in cluster.logs)
    assert len(stamps) - len(set(stamps)) <= skipped
    assert stamps[-1] - stamps[0] >= 8 * TICK
    assert (
        cluster.scalar(
            "SELECT count(*) FROM procrastinate_jobs WHERE status NOT IN ('succeeded', 'todo')"
        )
        == 0
    )
    # The work was shared, and nothing was stored or posted twice.
    assert scorers == 2
    assert cluster.scalar("SELECT count(*) FROM mentions") == total
    assert cluster.scalar("SELECT count(*) FROM mention_brands") == total
    roots = [m for m in fake_slack.messages if not m.get("thread_ts")]
    assert len(roots) == 1
    keys = [m["metadata"]["event_payload"]["key"] for m in fake_slack.messages]
    assert len(keys) == len(set(keys))
    assert cluster.scalar("SELECT count(*) FROM alerts") == 1
    assert cluster.scalar("SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0


def distinct_posts(count: int) -> list[dict[str, Any]]:
    """Posts with texts all different, so each costs the model real work (no cache hits)."""
    now = datetime.now(UTC).replace(microsecond=0)
    words = ["parcel", "refund", "courier", "app", "invoice", "driver", "support", "price"]
    return [
        mention(
            i,
            f"ACME {words[i % 8]} number {i}: {'late again' if i % 3 else 'arrived fine'}"
            f" ({words[(i * 7) % 8]} {i * 13 % 97})",
            now - timedelta(minutes=count - i),
        )
        for i in range(count)
    ]


def test_a_worker_killed_mid_batch_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, postgres_url: str, cluster_factory: Callable[[Path, str], Cluster]
) -> None:
    posts = distinct_posts(120)
    replay = write_jsonl(tmp_path / "acme.jsonl", posts)
    # The embedded model on one thread takes a second or two per batch of 30.
    config = worker_config(
        tmp_path / "pulso.yaml",
        postgres_url,
        replay,
        sentiment={"engine": "embedded", "threads": 1},
        worker={
            "tick_seconds": TICK,
            "heartbeat_seconds": 0.5,
            "stalled_after_seconds": 3,
            "score_batch": 20,
        },
    )
    cluster = cluster_factory(config, postgres_url)
    doomed = cluster.start()
    cluster.wait(
        "the first worker",
        lambda: cluster.scalar("SELECT count(*) FROM procrastinate_workers") == 1,
    )
    doomed_id = cluster.scalar("SELECT min(id) FROM procrastinate_workers")
    cluster.start()

    def busy_scoring() -> bool:
        return bool(
            cluster.scalar(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'pulso.score'"
                " AND status = 'doing' AND worker_id = :w",
                w=doomed_id,
            )
        )

    cluster.wait("the first worker scoring a batch", busy_scoring)
    killed = [
        row[0]
        for row in cluster.query(
            "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = :w",
            w=doomed_id,
        )
    ]
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    cluster.wait(
        "every mention scored",
        lambda: (
            cluster.scalar("SELECT count(*) FROM mentions WHERE sentiment_label <> 'pending'")
            == len(posts)
        ),
        timeout=120,
    )
    cluster.wait(
        "the killed jobs done elsewhere",
        lambda: (
            cluster.scalar(
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE id = ANY(:ids) AND status = 'succeeded'",
                ids=killed,
            )
            == len(killed)
        ),
    )
    log = cluster.logs[1].read_text()
    codes = cluster.stop()
    assert codes[1] == 0, cluster.tail()
    assert "was running on a worker that stopped; queued again" in log
    assert cluster.scalar("SELECT count(*) FROM mentions") == len(posts)
    assert cluster.scalar(
        "SELECT count(DISTINCT external_id) FROM mentions WHERE source = 'x'"
    ) == len(posts)
    assert cluster.scalar("SELECT count(*) FROM mention_brands") == len(posts)
    assert cluster.scalar("SELECT count(*) FROM mentions WHERE scored_at IS NULL") == 0
    engines = {row[0] for row in cluster.query("SELECT DISTINCT sentiment_engine FROM mentions")}
    assert engines and "" not in engines


def test_ticks_fan_out_each_job_once_per_its_period() -> None:
    day = 86_400
    for every, tick in [(60, 15), (300, 15), (900, 1), (86_400, 60), (45, 15), (10, 15)]:
        for key in ("collect:acme:x", "detect:acme", "deliver"):
            fired = [t for t in range(0, day, tick) if falls_due(key, every, t, tick)]
            assert len(fired) == (day // every if every > tick else day // tick), (every, tick)
    # Jobs of one kind spread over the period instead of all firing at once.
    starts = {
        next(t for t in range(0, 900) if falls_due(f"collect:brand{i}:x", 900, t, 1))
        for i in range(50)
    }
    assert len(starts) > 30


def test_a_tick_for_a_period_already_covered_does_nothing(postgres_url: str) -> None:
    from types import SimpleNamespace

    from monitor.service.worker_tasks import tick_ran
    from monitor.storage.engine import make_engine, session_factory

    engine = make_engine(postgres_url)
    with engine.begin() as db:  # the columns of procrastinate's table that the check reads
        db.execute(
            text(
                "CREATE TABLE procrastinate_jobs (id serial PRIMARY KEY, queue_name text,"
                " task_name text, status text, args jsonb)"
            )
        )
        for stamp, status in ((100, "succeeded"), (105, "succeeded"), (110, "doing")):
            db.execute(
                text(
                    "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args)"
                    " VALUES ('tick', 'pulso.tick', :status, CAST(:args AS jsonb))"
                ),
                {"status": status, "args": json.dumps({"timestamp": stamp})},
            )
    rt: Any = SimpleNamespace(sessions=session_factory(engine))
    try:
        assert tick_ran(rt, 100)  # queued again by a lagging worker after 105 ran
        assert tick_ran(rt, 105)
        assert not tick_ran(rt, 110)  # the running one is not "already ran"
        assert not tick_ran(rt, 115)
    finally:
        engine.dispose()


def test_a_job_left_by_a_dead_worker_never_wedges_the_tick(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A worker died running detect:acme, and a detect of the same brand was queued since
    # (same queueing lock): queueing the dead one again would break the lock on every
    # tick. It is closed instead, and the waiting one does the work.
    import asyncio
    from types import SimpleNamespace

    import procrastinate

    from monitor.service.worker import conninfo, ensure_queue_schema
    from monitor.service.worker_tasks import Steps
    from monitor.storage.engine import make_engine

    engine = make_engine(postgres_url)
    ensure_queue_schema(engine)

    async def scenario() -> tuple[str, str, int]:
        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(postgres_url))
        )
        detect = app.task(name="pulso.detect", queue="detect")(lambda brand: None)
        async with app.open_async():
            locked = detect.configure(lock="detect:acme", queueing_lock="detect:acme")
            first = await locked.defer_async(brand="acme")
            dead = await app.job_manager.register_worker()
            fetched = await app.job_manager.fetch_job(queues=None, worker_id=dead)
            assert fetched is not None and fetched.id == first
            waiting = await locked.defer_async(brand="acme")
            await app.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
            )
            stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=10))
            assert [job.id for job in stalled] == [first]
            worker = SimpleNamespace(tick_seconds=5, stalled_after_seconds=10)
            steps = Steps(SimpleNamespace(settings=SimpleNamespace(worker=worker)), app)  # type: ignore[arg-type]
            await steps._requeue(stalled[0])
            statuses = {
                row["id"]: row["status"]
                for row in await app.connector.execute_query_all_async(
                    "SELECT id, status FROM procrastinate_jobs"
                )
            }
            # The next tick finds nothing left to queue again.
            left = len(list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=10)))
            return statuses[first], statuses[waiting], left

    try:
        with caplog.at_level("WARNING"):
            dead_status, waiting_status, left = asyncio.run(scenario())
    finally:
        engine.dispose()
    assert (dead_status, waiting_status, left) == ("failed", "todo", 0)
    assert "the same job is already queued, so this one is closed" in caplog.text


def test_worker_refuses_sqlite_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=1))
    config = worker_config(tmp_path / "pulso.yaml", f"sqlite:///{tmp_path / 'p.db'}", replay)
    assert main(["worker", "--config", str(config)]) == 2
    assert "pulso worker needs PostgreSQL" in capsys.readouterr().err


def test_tick_must_divide_a_minute(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=1))
    config = worker_config(
        tmp_path / "pulso.yaml", "sqlite:///x.db", replay, worker={"tick_seconds": 7}
    )
    assert main(["check-config", str(config)]) == 2
    assert "worker.tick_seconds: must divide 60" in capsys.readouterr().err


def test_a_late_tick_covers_the_periods_it_missed(tmp_path: Path) -> None:
    from monitor.runtime import build_runtime
    from monitor.service.worker_tasks import due_jobs
    from monitor.settings import load_settings

    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=1))
    config = worker_config(tmp_path / "pulso.yaml", f"sqlite:///{tmp_path / 'p.db'}", replay)
    rt = build_runtime(load_settings(config))
    try:
        every = rt.sources[("acme", "replay")].settings.interval_seconds
        start = next(
            t
            for t in range(0, 10 * every)
            if any(d.task == "pulso.collect" for d in due_jobs(rt, t, 1))
        )
        # The tick of each second in the period after `start` would not collect...
        assert not any(
            d.task == "pulso.collect"
            for t in range(start + 1, start + every)
            for d in due_jobs(rt, t, 1)
        )
        # ...but a tick that comes 3 s late covers the start it missed.
        late = [d for d in due_jobs(rt, start + 2, 3) if d.task == "pulso.collect"]
        assert [d.kwargs for d in late] == [{"brand": "acme", "source": "replay"}]
        assert [d.task for d in due_jobs(rt, start, 3600)].count("pulso.detect") == 1
    finally:
        rt.close()


def test_mentions_whose_score_job_was_lost_are_scored_by_housekeeping(
    tmp_path: Path, postgres_url: str, cluster_factory: Callable[[Path, str], Cluster]
) -> None:
    from monitor.kernel.records import Mention
    from monitor.storage.engine import make_engine, migrate, session_factory
    from monitor.storage.mentions import store_mentions

    # A worker stored these pages and died before queueing their scores.
    engine = make_engine(postgres_url)
    migrate(engine)
    now = datetime.now(UTC)
    lost = [
        Mention(source="x", external_id=str(i), text=f"ACME lost parcel {i}", created_at=now)
        for i in range(30)
    ]
    with session_factory(engine).begin() as session:
        store_mentions(session, "acme", lost, None)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE mentions SET collected_at = :then"), {"then": now - timedelta(minutes=5)}
        )
    engine.dispose()
    replay = write_jsonl(tmp_path / "acme.jsonl", [])
    cluster = cluster_factory(
        worker_config(tmp_path / "pulso.yaml", postgres_url, replay), postgres_url
    )
    cluster.start()
    cluster.wait(
        "the lost mentions scored",
        lambda: (
            cluster.scalar("SELECT count(*) FROM mentions WHERE sentiment_label = 'pending'") == 0
        ),
        timeout=60,
    )
    assert cluster.stop() == [0]
    assert "30 mentions were waiting for a score job that was lost" in cluster.logs[0].read_text()


class Silent:
    """A server that accepts connections and never answers: a platform hanging."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            with contextlib.suppress(OSError):
                self.held.append(self.sock.accept()[0])

    def close(self) -> None:
        self.running = False
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()


def test_sigterm_ends_a_worker_stuck_on_a_hanging_platform_within_the_grace(
    tmp_path: Path, postgres_url: str, cluster_factory: Callable[[Path, str], Cluster]
) -> None:
    silent = Silent()
    try:
        replay = write_jsonl(tmp_path / "acme.jsonl", [])
        config = worker_config(tmp_path / "pulso.yaml", postgres_url, replay)
        settings = yaml.safe_load(config.read_text())
        settings["brands"][0]["sources"] = {
            "hackernews": {"api_url": f"http://127.0.0.1:{silent.port}", "timeout_seconds": 60}
        }
        settings["service"]["shutdown_grace_seconds"] = 1
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        cluster = cluster_factory(config, postgres_url)
        stuck = cluster.start()
        cluster.wait(
            "the collection hanging",
            lambda: bool(
                cluster.scalar(
                    "SELECT count(*) FROM procrastinate_jobs"
                    " WHERE task_name = 'pulso.collect' AND status = 'doing'"
                )
            ),
        )
        started = time.monotonic()
        stuck.send_signal(signal.SIGTERM)
        assert stuck.wait(timeout=30) == 0
        assert time.monotonic() - started < 1 + 2 + 3  # grace, margin, slack
        assert "exiting without them" in cluster.logs[0].read_text()
        # The job it left is retried once its heartbeat is seen to have stopped.
        cluster.start()
        cluster.wait(
            "the abandoned collection queued again",
            lambda: (
                "pulso.collect) was running on a worker that stopped" in cluster.logs[1].read_text()
            ),
            timeout=30,
        )
        assert cluster.stop()[1] == 0
    finally:
        silent.close()
