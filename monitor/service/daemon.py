"""Scheduling: APScheduler 3.x runs collect, detect and deliver jobs; `--once` runs one cycle."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError

from monitor import pipeline
from monitor.kernel.records import utcnow
from monitor.runtime import Runtime
from monitor.service.graceful import DaemonThreads, run_within, scheduler_executor
from monitor.storage.errors import describe
from sources.base import SourceError

if TYPE_CHECKING:
    from monitor.service.httpd import HttpServer

logger = logging.getLogger(__name__)

ONCE_DELIVERY_WAIT = 30.0
DIGEST_EVERY_SECONDS = 900  # digests are due once a week; looking every 15 min is enough


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A scheduled job: a stable id derived from config, how often, what it runs."""

    id: str
    seconds: int
    func: Callable[[], object]

    def run(self) -> bool:
        """Run the job at its boundary: a failure is logged, never raised."""
        try:
            self.func()
        except SourceError as exc:  # expected on a real network: one line, no traceback
            logger.warning("job %s: %s; it will run again at its next tick", self.id, exc)
            return False
        except OperationalError as exc:  # a full disk, a lost server: one line too
            logger.error("job %s: %s; it will run again at its next tick", self.id, describe(exc))
            return False
        except Exception:
            logger.exception("job %s failed; it will run again at its next tick", self.id)
            return False
        return True


def plan_jobs(rt: Runtime, wake: Callable[[str], object] | None = None) -> list[JobSpec]:
    """The jobs the settings ask for, with ids that stay the same across restarts.

    `wake(job_id)` runs a job now: new mentions wake their brand's detector, and new
    alert events wake delivery, so an alert does not wait for the next tick.
    """
    wake = wake or (lambda _job_id: None)
    jobs = [
        JobSpec(
            f"collect:{brand}:{name}",
            source.settings.interval_seconds,
            partial(_collect, rt, brand, name, wake),
        )
        for (brand, name), source in rt.sources.items()
    ]
    jobs += [
        JobSpec(
            f"detect:{brand.id}",
            brand.detector.bucket_minutes * 60,
            partial(_detect, rt, brand.id, wake),
        )
        for brand in rt.settings.brands
    ]
    jobs.append(
        JobSpec("deliver", rt.settings.deliver_interval_seconds, partial(pipeline.deliver, rt))
    )
    if rt.settings.digest is not None and rt.settings.digest.enabled:
        jobs.append(JobSpec("digest", DIGEST_EVERY_SECONDS, partial(_digest, rt)))
    jobs.append(JobSpec("retention", 86400, partial(_retention, rt)))  # once a day
    return jobs


def _retention(rt: Runtime) -> None:
    from monitor.storage.retention import apply_retention

    apply_retention(rt.sessions, rt.settings.retention, rt.clock())


def _digest(rt: Runtime) -> None:
    from monitor.digest.send import send_due_digests  # charts load only when digests run

    send_due_digests(rt)


def _collect(rt: Runtime, brand: str, source: str, wake: Callable[[str], object]) -> None:
    if pipeline.collect(rt, brand, source).stored:
        wake(f"detect:{brand}")


def _detect(rt: Runtime, brand: str, wake: Callable[[str], object]) -> None:
    if pipeline.detect(rt, brand):
        wake("deliver")


def start_delivery(rt: Runtime) -> None:
    """At a start, when fixed settings take effect: check the notifiers (Slack's token)
    and make what they refused before due now. A failure is logged, never raised."""
    from monitor.delivery.digests import retry_refused

    try:
        rt.outbox.on_start()
        retry_refused(rt.sessions, rt.clock())
    except Exception:
        logger.exception("retrying refused deliveries at start failed; they retry later")


def run_once(rt: Runtime, delivery_wait: float = ONCE_DELIVERY_WAIT) -> int:
    """One full cycle: collect every source, detect every brand, deliver the outbox.

    Waits up to `delivery_wait` seconds for short retries (a Slack rate limit, say).
    Returns how many jobs failed (each is logged).
    """
    start_delivery(rt)
    failed = sum(not job.run() for job in plan_jobs(rt) if job.id != "deliver")
    report = pipeline.deliver(rt, wait_seconds=delivery_wait)
    logger.info(
        "cycle done: %d alert messages delivered, %d waiting for retry",
        report.sent,
        rt.outbox.waiting(),  # refused rows too, though not due in this cycle
    )
    return failed


def run_forever(rt: Runtime) -> None:
    """Run the scheduler until SIGTERM or SIGINT, then stop within the shutdown grace.

    On the signal no new job starts; the running ones finish, the outbox gets one last
    delivery attempt and the HTTP endpoint closes, all within
    `service.shutdown_grace_seconds`. Jobs still running then are left behind: every page
    is committed with its cursor and the outbox is durable, so nothing is lost.
    """
    grace = rt.settings.service.shutdown_grace_seconds
    pool = DaemonThreads(max_workers=4)
    activity = [utcnow()]  # when a job last started or ended, for /healthz
    scheduler = _scheduler(rt, pool, activity)
    deadline: list[float] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if deadline:
            logger.info("received %s: already stopping", name)
            return
        deadline.append(time.monotonic() + grace)
        logger.info(
            "received %s: no new jobs; finishing the running ones (up to %g s), then stopping",
            name,
            grace,
        )
        # shutdown() takes the scheduler's locks: it must not run inside the signal handler.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": False}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = start_endpoint(rt, lambda: bool(scheduler.running), lambda: activity[0])
    start_delivery(rt)
    logger.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
    try:
        scheduler.start()
    finally:
        clean = _drain(rt, pool, deadline[0] if deadline else time.monotonic() + grace)
        if server is not None:
            server.close()
    if clean:
        logger.info("stopped cleanly")


def _scheduler(rt: Runtime, pool: DaemonThreads, activity: list[datetime]) -> Any:
    """A BlockingScheduler with the planned jobs, due now, run on `pool`.

    `activity[0]` follows the last time a job started or ended.
    """
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(
        timezone="UTC",
        executors={"default": scheduler_executor(pool)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )

    def touch(_event: object) -> None:
        activity[0] = utcnow()

    scheduler.add_listener(touch, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def wake(job_id: str) -> None:
        # Thread-safe; max_instances=1 still holds, so nothing runs twice at once.
        try:
            scheduler.modify_job(job_id, next_run_time=utcnow())
        except JobLookupError:  # stopping: a stopped scheduler has no jobs to wake
            logger.debug("not waking %s: the scheduler is stopping", job_id)

    start = utcnow()
    for job in plan_jobs(rt, wake):
        scheduler.add_job(
            job.run,
            "interval",
            seconds=job.seconds,
            id=job.id,
            name=job.id,
            next_run_time=start,
            replace_existing=True,
        )
    return scheduler


def start_endpoint(
    rt: Runtime, alive: Callable[[], bool], last_activity: Callable[[], datetime]
) -> HttpServer | None:
    """The /healthz and /metrics endpoint, if enabled; a port in use is logged, not fatal."""
    service = rt.settings.service
    if not service.http_enabled:
        return None
    from monitor.service.httpd import start_http

    try:
        return start_http(rt, alive, last_activity)
    except OSError as exc:
        logger.error(
            "cannot serve /healthz and /metrics on %s port %d (%s); running without them",
            service.host,
            service.port,
            exc.strerror or exc,
        )
        return None


def _drain(rt: Runtime, pool: DaemonThreads, deadline: float) -> bool:
    """Wait for the running jobs, then try the outbox once more, all before `deadline`."""
    if not pool.wait_idle(deadline - time.monotonic()):
        logger.warning(
            "%d jobs still running when the shutdown grace ran out; stopping without them "
            "(their saved pages and queued alerts are kept for the next start)",
            pool.running(),
        )
        return False
    final = JobSpec("deliver:final", 0, partial(pipeline.deliver, rt))
    if not run_within(deadline - time.monotonic(), final.run, "pulso-final-delivery"):
        logger.warning(
            "the last outbox delivery did not finish within the shutdown grace; "
            "its messages stay queued for the next start"
        )
        return False
    return True
