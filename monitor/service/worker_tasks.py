"""The scaled mode's tasks: one named step each, and the table they are registered from.

The table says, for every task, its name, queue, priority, lock and the step it runs;
`register_tasks` turns it into procrastinate tasks. See monitor/service/worker.py for how
the tick fans the work out across the cluster.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import MethodType
from typing import Any

from sqlalchemy import text

from monitor import pipeline
from monitor.runtime import Runtime
from monitor.scoring import pending_ids, score_pending
from monitor.service.daemon import DIGEST_EVERY_SECONDS
from sources.base import SourceError

logger = logging.getLogger(__name__)

RETENTION_EVERY_SECONDS = 86_400
# Pending mentions older than this, with no score job queued, lost their job: rescore.
LOST_SCORE_AFTER = timedelta(minutes=2)
SWEEP_LIMIT = 20_000
MAX_CATCH_UP = 3_600


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


def job(task: str, **kwargs: Any) -> Due:
    """A job of `task` with these arguments, locked as the task table says."""
    lock = TASKS[task].lock
    assert lock is not None, f"{task} jobs carry no lock"
    return Due(task, lock.format(**kwargs), kwargs)


def due_jobs(rt: Runtime, timestamp: int, window: int) -> Iterator[Due]:
    """What falls due in (timestamp - window, timestamp] (epoch seconds)."""
    periods = [
        (job("pulso.collect", brand=brand, source=name), source.settings.interval_seconds)
        for (brand, name), source in rt.sources.items()
    ]
    periods += [
        (job("pulso.detect", brand=brand.id), brand.detector.bucket_minutes * 60)
        for brand in rt.settings.brands
    ]
    periods.append((job("pulso.deliver"), rt.settings.deliver_interval_seconds))
    digest = rt.settings.digest
    if digest is not None and digest.enabled:
        periods.append((job("pulso.digest"), DIGEST_EVERY_SECONDS))
    periods.append((job("pulso.retention"), RETENTION_EVERY_SECONDS))
    periods.append((job("pulso.housekeeping"), 60))
    for due, every in periods:
        if falls_due(due.lock, every, timestamp, window):
            yield due


def last_tick(rt: Runtime) -> int | None:
    """The timestamp of the latest tick that ran to its end (None before the first)."""
    with rt.sessions() as session:
        last = session.execute(
            text(
                "SELECT max((args->>'timestamp')::bigint) FROM procrastinate_jobs"
                " WHERE queue_name = 'tick' AND task_name = 'pulso.tick'"
                " AND status = 'succeeded'"
            )
        ).scalar()
    return None if last is None else int(last)


def covered(last: int | None, timestamp: int) -> bool:
    """Whether a tick for `timestamp` or a later one has already run (ticks never run side
    by side: their lock), so this one would only repeat its work."""
    return last is not None and last >= timestamp


def tick_ran(rt: Runtime, timestamp: int) -> bool:
    """`covered`, read from the database."""
    return covered(last_tick(rt), timestamp)


def tick_window(last: int | None, timestamp: int, tick: int) -> int:
    """Seconds since the last tick that ran (`last`, before `timestamp`): this tick covers
    them all.

    A tick is not queued while another waits (its queueing lock), so when every worker
    is busy some periods get no tick of their own; the next one that runs covers them,
    and nothing due in them is lost. The first tick of a cluster, and one after an outage
    of an hour or more, cover an hour: every job is due.
    """
    if last is None:  # the cluster's first tick: everything is due, as at any start
        return MAX_CATCH_UP
    return int(min(MAX_CATCH_UP, max(tick, timestamp - last)))


def close_dead_ticks(rt: Runtime) -> list[int]:
    """Close a tick that was running on a worker that stopped (its heartbeat silent for
    `stalled_after_seconds`, or its row pruned).

    While it stays `doing` it holds the tick's lock, so no other tick runs; and only a tick
    queues the jobs of dead workers again: the whole cluster would wait for good. Its period
    is not lost: the next tick covers everything since the last tick that succeeded.
    """
    with rt.sessions.begin() as session:
        closed = list(
            session.execute(
                text(
                    "UPDATE procrastinate_jobs AS job SET status = 'failed'"
                    " WHERE job.task_name = 'pulso.tick' AND job.status = 'doing'"
                    " AND NOT EXISTS (SELECT 1 FROM procrastinate_workers AS w"
                    " WHERE w.id = job.worker_id"
                    " AND w.last_heartbeat >= now() - make_interval(secs => :stalled))"
                    " RETURNING job.id"
                ),
                {"stalled": rt.settings.worker.stalled_after_seconds},
            ).scalars()
        )
    for job_id in closed:
        logger.warning(
            "tick job %s was running on a worker that stopped; closed (the next tick covers"
            " its period)",
            job_id,
        )
    return closed


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


class Steps:
    """What each task does, bound to one worker's runtime and procrastinate app."""

    def __init__(self, rt: Runtime, app: Any) -> None:
        self.rt = rt
        self.app = app
        self.ws = rt.settings.worker

    async def tick(self, timestamp: int) -> None:
        """Queue what fell due since the last tick; requeue the jobs of stopped workers."""
        last = await asyncio.to_thread(last_tick, self.rt)
        if covered(last, timestamp):
            # A worker whose periodic deferrer lags (a busy machine) can queue a period
            # again after another worker's tick already covered it: nothing to do.
            logger.info("tick %d skipped: a tick at or after it already ran", timestamp)
            return
        window = tick_window(last, timestamp, self.ws.tick_seconds)
        for due in due_jobs(self.rt, timestamp, window):
            await self._defer(due)
        stalled = await self.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=self.ws.stalled_after_seconds
        )
        for stuck in stalled:
            await self._requeue(stuck)

    async def _requeue(self, stuck: Any) -> None:
        """Queue again a job whose worker stopped, or close it when the same job already
        waits (its queueing lock: a detect queued again since, say): that one does the
        work, and retrying this one would fail on every tick."""
        from procrastinate.exceptions import ConnectorException, UniqueViolation
        from procrastinate.jobs import Status

        manager = self.app.job_manager
        try:
            await manager.retry_job(stuck)
        except UniqueViolation:
            await manager.finish_job(stuck, Status.FAILED, delete_job=False)
            logger.warning(
                "job %s (%s) was running on a worker that stopped; the same job is already"
                " queued, so this one is closed",
                stuck.id,
                stuck.task_name,
            )
            return
        except ConnectorException as exc:  # finished meanwhile, say: the next tick sees
            logger.warning(
                "job %s (%s) could not be queued again: %s", stuck.id, stuck.task_name, exc
            )
            return
        logger.warning(
            "job %s (%s) was running on a worker that stopped; queued again",
            stuck.id,
            stuck.task_name,
        )

    async def rescue(self, timestamp: int) -> None:
        """Free the tick's lock from a tick left by a dead worker (see `close_dead_ticks`);
        periodic, so it is given its period's `timestamp`."""
        await asyncio.to_thread(close_dead_ticks, self.rt)

    def collect(self, brand: str, source: str) -> None:
        """Collect one source of one brand; its new mentions are scored by score jobs."""
        try:
            pipeline.collect(self.rt, brand, source, defer_scoring=self._defer_scores)
        except SourceError as exc:
            logger.warning(
                "collect %s/%s: %s; it will run again at its next tick", brand, source, exc
            )

    def score(self, ids: list[int]) -> None:
        """Score a batch, then wake the detector of every brand it touched."""
        report = score_pending(self.rt, ids)
        for brand in sorted(report.brands):
            self._defer_now(job("pulso.detect", brand=brand))

    def detect(self, brand: str) -> None:
        """Look for alerts in one brand; wake delivery if it made events."""
        if pipeline.detect(self.rt, brand):
            self._defer_now(job("pulso.deliver"))

    def deliver(self) -> None:
        """Send the outbox."""
        pipeline.deliver(self.rt)

    def digest(self) -> None:
        """Send the digests that are due."""
        from monitor.digest.send import send_due_digests  # charts load only when digests run

        send_due_digests(self.rt)

    def retention(self) -> None:
        """Delete what the retention settings no longer keep."""
        from monitor.storage.retention import apply_retention

        apply_retention(self.rt.sessions, self.rt.settings.retention, self.rt.clock())

    async def housekeeping(self) -> None:
        """Queue the score batches that were lost; forget old finished jobs."""
        ids = await asyncio.to_thread(lost_scores, self.rt)
        for batch in self._batches(ids):
            await self.app.tasks["pulso.score"].defer_async(ids=batch)
        await self.app.job_manager.delete_old_jobs(nb_hours=self.ws.keep_finished_jobs_hours)

    async def _defer(self, due: Due) -> None:
        from procrastinate.exceptions import AlreadyEnqueued

        task = self.app.tasks[due.task]
        try:
            await task.configure(lock=due.lock, queueing_lock=due.lock).defer_async(**due.kwargs)
        except AlreadyEnqueued:
            logger.debug("%s already waiting; not queued again", due.lock)

    def _defer_now(self, due: Due) -> None:
        from procrastinate.exceptions import AlreadyEnqueued

        task = self.app.tasks[due.task]
        try:
            task.configure(lock=due.lock, queueing_lock=due.lock).defer(**due.kwargs)
        except AlreadyEnqueued:
            logger.debug("%s already waiting; not queued again", due.lock)

    def _defer_scores(self, ids: list[int]) -> None:
        for batch in self._batches(ids):
            self.app.tasks["pulso.score"].defer(ids=batch)

    def _batches(self, ids: list[int]) -> list[list[int]]:
        size = self.ws.score_batch
        return [ids[start : start + size] for start in range(0, len(ids), size)]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One row of the task table: a procrastinate task and the step it runs."""

    name: str
    queue: str
    priority: int
    # Lock and queueing lock of each job (filled from its arguments): never two at once,
    # at most one waiting. None: jobs run side by side and pile up.
    lock: str | None
    step: Callable[..., Any]  # a Steps method
    # Set: every worker's periodic deferrer queues it each tick, under this periodic id
    # (once per period cluster-wide).
    periodic: str | None = None
    # False: the lock is only a queueing lock (one waiting); jobs may run side by side.
    exclusive: bool = True


# Higher priority runs first: the tick and alert delivery never wait behind a scoring
# backlog. No task retries by itself: what fails falls due again at a later tick (a lost
# score batch at housekeeping), and a job left by a dead worker is queued again by a tick.
TABLE: tuple[TaskSpec, ...] = (
    TaskSpec("pulso.tick", "tick", 100, "tick", Steps.tick, periodic="tick"),
    # Not the tick's job: a tick left running by a dead worker blocks every later tick.
    # Its lock only keeps one waiting, so nothing it leaves behind can block it in turn.
    TaskSpec("pulso.rescue", "tick", 100, "rescue", Steps.rescue, "rescue", exclusive=False),
    TaskSpec("pulso.collect", "collect", 10, "collect:{brand}:{source}", Steps.collect),
    TaskSpec("pulso.score", "score", 20, None, Steps.score),
    TaskSpec("pulso.detect", "detect", 50, "detect:{brand}", Steps.detect),
    TaskSpec("pulso.deliver", "deliver", 60, "deliver", Steps.deliver),
    TaskSpec("pulso.digest", "deliver", 0, "digest", Steps.digest),
    TaskSpec("pulso.retention", "housekeeping", 0, "retention", Steps.retention),
    TaskSpec("pulso.housekeeping", "housekeeping", 0, "housekeeping", Steps.housekeeping),
)
TASKS = {spec.name: spec for spec in TABLE}


def register_tasks(app: Any, rt: Runtime) -> None:
    """Register the table's tasks on `app`, each running its step on `rt`."""
    steps = Steps(rt, app)
    for spec in TABLE:
        # The periodic deferrer queues with the task's own defaults, so a periodic task
        # carries its lock itself; other jobs get theirs when queued (see `job`).
        fixed = spec.lock if spec.periodic else None
        task = app.task(
            name=spec.name,
            queue=spec.queue,
            priority=spec.priority,
            lock=fixed if spec.exclusive else None,
            queueing_lock=fixed,
        )(MethodType(spec.step, steps))
        if spec.periodic:
            cron = f"* * * * * */{rt.settings.worker.tick_seconds}"
            app.periodic(cron=cron, periodic_id=spec.periodic)(task)
