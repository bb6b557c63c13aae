"""Scheduling: APScheduler 3.x runs collect, detect and deliver jobs; `--once` runs one cycle."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import FrameType

from monitor import pipeline
from monitor.records import utcnow
from monitor.runtime import Runtime
from sources.base import SourceError

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
    return jobs


def _digest(rt: Runtime) -> None:
    from monitor.digest_send import send_due_digests  # charts load only when digests run

    send_due_digests(rt)


def _collect(rt: Runtime, brand: str, source: str, wake: Callable[[str], object]) -> None:
    if pipeline.collect(rt, brand, source).stored:
        wake(f"detect:{brand}")


def _detect(rt: Runtime, brand: str, wake: Callable[[str], object]) -> None:
    if pipeline.detect(rt, brand):
        wake("deliver")


def run_once(rt: Runtime, delivery_wait: float = ONCE_DELIVERY_WAIT) -> int:
    """One full cycle: collect every source, detect every brand, deliver the outbox.

    Waits up to `delivery_wait` seconds for short retries (a Slack rate limit, say).
    Returns how many jobs failed (each is logged).
    """
    failed = sum(not job.run() for job in plan_jobs(rt) if job.id != "deliver")
    report = pipeline.deliver(rt, wait_seconds=delivery_wait)
    logger.info(
        "cycle done: %d alert messages delivered, %d waiting for retry",
        report.sent,
        report.retrying + report.blocked,
    )
    return failed


def run_forever(rt: Runtime) -> None:
    """Run the scheduler until SIGTERM or SIGINT; the running job finishes first."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(
        timezone="UTC",
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    start: datetime = utcnow()

    def wake(job_id: str) -> None:
        # Thread-safe; max_instances=1 still holds, so nothing runs twice at once.
        scheduler.modify_job(job_id, next_run_time=utcnow())

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

    def stop(signum: int, _frame: FrameType | None) -> None:
        logger.info(
            "received %s: finishing the running jobs, then stopping", signal.Signals(signum).name
        )
        # shutdown(wait=True) blocks; it must not run inside the signal handler itself.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
    scheduler.start()
    logger.info("stopped cleanly")
