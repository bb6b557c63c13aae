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

The tasks, their steps and locks are a table in monitor/service/worker_tasks.py; this
module starts the worker that runs them.
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
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from monitor.kernel.records import utcnow
from monitor.runtime import Runtime
from monitor.service.worker_tasks import register_tasks

logger = logging.getLogger(__name__)

EXIT_MARGIN = 2.0  # seconds after the grace before a stuck worker is ended
ALIVE_WITHIN = 10.0  # seconds without a beat of the event loop: the worker is stuck
SCHEMA_LOCK = 0x70756C736F  # "pulso": one process applies procrastinate's schema


class WorkerSetupError(Exception):
    """The scaled mode cannot start (not PostgreSQL, procrastinate missing...)."""


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

    ws = rt.settings.worker
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(rt.settings.database_url),
            min_size=1,
            max_size=max(4, ws.concurrency + 3),
        )
    )
    register_tasks(app, rt)
    return app


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


class Pulse:
    """The event loop's heartbeat: the worker counts as alive while it beats."""

    def __init__(self) -> None:
        self.beat, self.beat_at = time.monotonic(), utcnow()

    async def run(self) -> None:
        """Beat every second, until cancelled."""
        while True:
            self.beat, self.beat_at = time.monotonic(), utcnow()
            await asyncio.sleep(1.0)

    def alive(self) -> bool:
        """Whether the loop beat recently enough."""
        return time.monotonic() - self.beat < ALIVE_WITHIN

    def last(self) -> datetime:
        """When the loop last beat."""
        return self.beat_at


async def _work(rt: Runtime, app: Any, pulse: Pulse) -> None:
    """Run procrastinate's worker until a stop signal cancels it (see `_stop`)."""
    ws = rt.settings.worker
    grace = rt.settings.service.shutdown_grace_seconds
    pulsing = asyncio.create_task(pulse.run())
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


def run_worker(rt: Runtime) -> None:
    """Run one worker until SIGTERM/SIGINT: running jobs get the grace period to finish.

    The worker serves /healthz and /metrics like `pulso run`; it counts as alive while
    its event loop answers (a beat every second).
    """
    from monitor.service.daemon import start_delivery, start_endpoint

    ensure_queue_schema(rt.engine)
    start_delivery(rt)
    app = build_app(rt)
    pulse = Pulse()
    server = start_endpoint(rt, pulse.alive, pulse.last)
    logger.info(
        "worker %s starting (concurrency %d)", worker_name(), rt.settings.worker.concurrency
    )
    try:
        asyncio.run(_work(rt, app, pulse))
    finally:
        if server is not None:
            server.close()
    logger.info("worker %s stopped cleanly", worker_name())
