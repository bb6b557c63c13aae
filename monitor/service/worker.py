"""Scaled mode: `pulso worker` replicas sharing one PostgreSQL database through procrastinate.

Every worker runs procrastinate's periodic deferrer; the database lets one `tick` per
period through, cluster-wide (the periodic-defer unique key, and a queueing lock so ticks
never pile up). The tick fans out the work that falls due in its period:

    tick ─┬─ collect(brand, source) ── stores mentions `pending` ── score(ids) on `score`
          ├─ detect(brand)   ◄──────────── after a scored batch, too ─┘
          ├─ deliver()       ◄──────────── after a detect that made events, too
          ├─ digest(), retention(), housekeeping (stalled jobs, lost score batches)

Each job kind carries a lock (never two at once for one brand/source) and a queueing lock
(at most one waiting). Every task is idempotent: pages commit with their cursor, mentions
are unique, scoring only updates rows still pending, incidents and the outbox are keyed.
A worker killed mid-task stops its heartbeat; the next tick puts its jobs back in the
queue, and whoever takes them finds the database as the last commit left it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from monitor import pipeline
from monitor.kernel.records import utcnow
from monitor.runtime import Runtime
from monitor.scoring import pending_ids, score_pending
from monitor.service.daemon import DIGEST_EVERY_SECONDS
from sources.base import SourceError

logger = logging.getLogger(__name__)

RETENTION_EVERY_SECONDS = 86_400
HOUSEKEEPING_EVERY_SECONDS = 3_600
# Pending mentions older than this, with no score job queued, lost their job: rescore.
LOST_SCORE_AFTER = timedelta(minutes=2)
SWEEP_LIMIT = 20_000
MAX_CATCH_UP = 3_600
EXIT_MARGIN = 2.0  # seconds after the grace before a stuck worker is ended
ALIVE_WITHIN = 10.0  # seconds without a beat of the event loop: the worker is stuck
SCHEMA_LOCK = 0x70756C736F  # "pulso": one process applies procrastinate's schema
# Higher runs first: the tick and alert delivery never wait behind a scoring backlog.
PRIORITY = {"tick": 100, "deliver": 60, "detect": 50, "score": 20, "collect": 10}


class WorkerSetupError(Exception):
    """The scaled mode cannot start (not PostgreSQL, procrastinate missing...)."""


@dataclass(frozen=True, slots=True)
class Due:
    """A job that falls due in one tick: its task, arguments and lock."""

    task: str
    lock: str
    kwargs: dict[str, Any]


def _phase(key: str, every: int) -> int:
    """A stable offset in [0, every) so jobs of one kind spread over their period."""
    return zlib.crc32(key.encode()) % every


def falls_due(key: str, every: int, timestamp: int, tick: int) -> bool:
    """Whether a job run every `every` seconds has a start in (timestamp - tick, timestamp].

    Each start falls in exactly one tick's window, whichever worker defers the tick, so
    the schedule needs no state of its own.
    """
    if every <= tick:
        return True
    start = timestamp - _phase(key, every)
    return start // every != (start - tick) // every


def due_jobs(rt: Runtime, timestamp: int, window: int) -> Iterator[Due]:
    """What falls due in (timestamp - window, timestamp] (epoch seconds)."""
    tick = window
    for brand, source in rt.sources:
        lock = f"collect:{brand}:{source}"
        every = rt.sources[(brand, source)].settings.interval_seconds
        if falls_due(lock, every, timestamp, tick):
            yield Due("pulso.collect", lock, {"brand": brand, "source": source})
    for settings in rt.settings.brands:
        lock = f"detect:{settings.id}"
        if falls_due(lock, settings.detector.bucket_minutes * 60, timestamp, tick):
            yield Due("pulso.detect", lock, {"brand": settings.id})
    if falls_due("deliver", rt.settings.deliver_interval_seconds, timestamp, tick):
        yield Due("pulso.deliver", "deliver", {})
    digest = rt.settings.digest
    if (
        digest is not None
        and digest.enabled
        and falls_due("digest", DIGEST_EVERY_SECONDS, timestamp, tick)
    ):
        yield Due("pulso.digest", "digest", {})
    if falls_due("retention", RETENTION_EVERY_SECONDS, timestamp, tick):
        yield Due("pulso.retention", "retention", {})
    if falls_due("housekeeping", 60, timestamp, tick):
        yield Due("pulso.housekeeping", "housekeeping", {})


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise WorkerSetupError(
            "pulso worker needs PostgreSQL (set PULSO_DATABASE_URL or database_url to "
            "postgresql+psycopg://user:password@host:5432/pulso); SQLite runs `pulso run`"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_queue_schema(engine: Engine) -> None:
    """Create procrastinate's tables once, even when several workers start together."""
    from procrastinate.schema import SchemaManager

    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        exists = connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        if exists is None:
            logger.info("creating procrastinate's tables")
            dbapi = connection.connection.dbapi_connection
            assert dbapi is not None
            cursor = dbapi.cursor()
            try:
                cursor.execute(SchemaManager.get_schema())
            finally:
                cursor.close()


def build_app(rt: Runtime) -> Any:
    """The procrastinate app with Pulso's tasks bound to this worker's runtime."""
    import procrastinate
    from procrastinate import exceptions

    ws = rt.settings.worker
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(rt.settings.database_url),
            min_size=1,
            max_size=max(4, ws.concurrency + 3),
        )
    )

    async def defer(task_name: str, lock: str | None, **kwargs: Any) -> None:
        task = app.tasks[task_name]
        try:
            await task.configure(lock=lock, queueing_lock=lock).defer_async(**kwargs)
        except exceptions.AlreadyEnqueued:
            logger.debug("%s already waiting; not queued again", lock)

    def defer_sync(task_name: str, lock: str | None, **kwargs: Any) -> None:
        task = app.tasks[task_name]
        try:
            task.configure(lock=lock, queueing_lock=lock).defer(**kwargs)
        except exceptions.AlreadyEnqueued:
            logger.debug("%s already waiting; not queued again", lock)

    def defer_scores(ids: list[int]) -> None:
        for start in range(0, len(ids), ws.score_batch):
            app.tasks["pulso.score"].defer(ids=ids[start : start + ws.score_batch])

    @app.periodic(cron=f"* * * * * */{ws.tick_seconds}", periodic_id="tick")
    @app.task(
        name="pulso.tick",
        queue="tick",
        lock="tick",
        queueing_lock="tick",
        priority=PRIORITY["tick"],
    )
    async def tick(timestamp: int) -> None:
        window = await asyncio.to_thread(tick_window, rt, timestamp)
        for due in due_jobs(rt, timestamp, window):
            await defer(due.task, due.lock, **due.kwargs)
        stalled = await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=ws.stalled_after_seconds
        )
        for job in stalled:
            logger.warning(
                "job %s (%s) was running on a worker that stopped; queued again",
                job.id,
                job.task_name,
            )
            await app.job_manager.retry_job(job)

    @app.task(name="pulso.collect", queue="collect", priority=PRIORITY["collect"])
    def collect(brand: str, source: str) -> None:
        try:
            pipeline.collect(rt, brand, source, defer_scoring=defer_scores)
        except SourceError as exc:
            logger.warning(
                "collect %s/%s: %s; it will run again at its next tick", brand, source, exc
            )

    @app.task(name="pulso.score", queue="score", priority=PRIORITY["score"])
    def score(ids: list[int]) -> None:
        report = score_pending(rt, ids)
        for brand in sorted(report.brands):
            defer_sync("pulso.detect", f"detect:{brand}", brand=brand)

    @app.task(name="pulso.detect", queue="detect", priority=PRIORITY["detect"])
    def detect(brand: str) -> None:
        if pipeline.detect(rt, brand):
            defer_sync("pulso.deliver", "deliver")

    @app.task(name="pulso.deliver", queue="deliver", priority=PRIORITY["deliver"])
    def deliver() -> None:
        pipeline.deliver(rt)

    @app.task(name="pulso.digest", queue="deliver")
    def digest() -> None:
        from monitor.digest.send import send_due_digests

        send_due_digests(rt)

    @app.task(name="pulso.retention", queue="housekeeping")
    def retention() -> None:
        from monitor.storage.retention import apply_retention

        apply_retention(rt.sessions, rt.settings.retention, rt.clock())

    @app.task(name="pulso.housekeeping", queue="housekeeping")
    async def housekeeping() -> None:
        ids = await asyncio.to_thread(lost_scores, rt)
        for start in range(0, len(ids), ws.score_batch):
            await app.tasks["pulso.score"].defer_async(ids=ids[start : start + ws.score_batch])
        await app.job_manager.delete_old_jobs(nb_hours=ws.keep_finished_jobs_hours)

    del tick, collect, score, detect, deliver, digest, retention, housekeeping
    return app


def tick_window(rt: Runtime, timestamp: int) -> int:
    """Seconds since the last tick that ran: this tick covers them all.

    A tick is not queued while another waits (its queueing lock), so when every worker
    is busy some periods get no tick of their own; the next one that runs covers them,
    and nothing due in them is lost. The first tick of a cluster, and one after an outage
    of an hour or more, cover an hour: every job is due.
    """
    tick = rt.settings.worker.tick_seconds
    with rt.sessions() as session:
        last = session.execute(
            text(
                "SELECT max((args->>'timestamp')::bigint) FROM procrastinate_jobs"
                " WHERE queue_name = 'tick' AND task_name = 'pulso.tick'"
                " AND status = 'succeeded'"
                " AND (args->>'timestamp')::bigint < :now"
            ),
            {"now": timestamp},
        ).scalar()
    if last is None:  # the cluster's first tick: everything is due, as at any start
        return MAX_CATCH_UP
    return int(min(MAX_CATCH_UP, max(tick, timestamp - int(last))))


def lost_scores(rt: Runtime) -> list[int]:
    """Pending mentions whose score job was lost (to queue again).

    Only when no score job is waiting or running: then every pending row older than a
    couple of minutes is an orphan (say, a worker died between storing a page and
    queueing its scores).
    """
    with rt.sessions() as session:
        busy = session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs"
                " WHERE status IN ('todo', 'doing') AND queue_name = 'score')"
            )
        ).scalar_one()
        if busy:
            return []
        ids = pending_ids(session, rt.clock() - LOST_SCORE_AFTER, SWEEP_LIMIT)
    if ids:
        logger.warning("%d mentions were waiting for a score job that was lost; queued", len(ids))
    return ids


def _stop(signum: int, working: asyncio.Task[None], grace: float) -> None:
    """SIGTERM/SIGINT: stop taking jobs, let the running ones finish within `grace`.

    procrastinate waits for running jobs, then gives up on them, but a synchronous task
    stuck on a slow network call keeps its thread, and the interpreter waits for it at
    exit. A watchdog ends the process once the grace (and a margin) is over: whatever that
    job did not commit is done again elsewhere, since every task is idempotent.
    """
    if working.cancelling():
        return
    logger.info(
        "received %s: no new jobs; finishing the running ones (up to %g s), then stopping",
        signal.Signals(signum).name,
        grace,
    )
    working.cancel()
    threading.Thread(target=_exit_after, args=(grace + EXIT_MARGIN,), daemon=True).start()


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    logger.warning(
        "jobs still running %g s after the stop signal; exiting without them "
        "(another worker will do them again)",
        seconds,
    )
    logging.shutdown()
    os._exit(0)


def worker_name() -> str:
    """host-pid: tells replicas apart in the logs."""
    return f"{socket.gethostname()}-{os.getpid()}"


def run_worker(rt: Runtime) -> None:
    """Run one worker until SIGTERM/SIGINT: running jobs get the grace period to finish.

    The worker serves /healthz and /metrics like `pulso run`; it counts as alive while
    its event loop answers (a beat every second).
    """
    from monitor.service.daemon import start_endpoint

    ensure_queue_schema(rt.engine)
    app = build_app(rt)
    ws = rt.settings.worker
    beat, beat_at = [time.monotonic()], [utcnow()]

    async def pulse() -> None:
        while True:
            beat[0], beat_at[0] = time.monotonic(), utcnow()
            await asyncio.sleep(1.0)

    grace = rt.settings.service.shutdown_grace_seconds

    async def main() -> None:
        pulsing = asyncio.create_task(pulse())
        try:
            async with app.open_async():
                working = asyncio.create_task(
                    app.run_worker_async(
                        name=worker_name(),
                        concurrency=ws.concurrency,
                        update_heartbeat_interval=ws.heartbeat_seconds,
                        stalled_worker_timeout=ws.stalled_after_seconds,
                        shutdown_graceful_timeout=grace,
                        install_signal_handlers=False,
                    )
                )
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, _stop, signum, working, grace)
                with contextlib.suppress(asyncio.CancelledError):
                    await working
        finally:
            pulsing.cancel()

    server = start_endpoint(
        rt, lambda: time.monotonic() - beat[0] < ALIVE_WITHIN, lambda: beat_at[0]
    )
    logger.info("worker %s starting (concurrency %d)", worker_name(), ws.concurrency)
    try:
        asyncio.run(main())
    finally:
        if server is not None:
            server.close()
    logger.info("worker %s stopped cleanly", worker_name())
