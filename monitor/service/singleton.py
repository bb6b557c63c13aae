"""One scheduler per database: `pulso run` never runs twice, nor beside workers.

APScheduler in two processes over one database would run every job twice, and so would
`pulso run` beside `pulso worker` replicas. `pulso run` therefore holds a lock for its
whole life: a PostgreSQL session advisory lock, or on SQLite a lock file beside the
database. Both go away with the process, even after `kill -9`.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

logger = logging.getLogger(__name__)

SCHEDULER_LOCK = 0x70756C736F02
RECENT_WORKERS = (
    "SELECT count(*) FROM procrastinate_workers"
    " WHERE last_heartbeat > now() - make_interval(secs => :seconds)"
)


class AlreadyRunning(Exception):
    """Another scheduler (or the scaled mode's workers) already uses this database."""


@contextmanager
def sole_scheduler(engine: Engine, workers_seen_within: float = 60.0) -> Iterator[None]:
    """Hold the database's scheduler lock while the block runs; AlreadyRunning if taken."""
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, workers_seen_within):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with _file_lock(Path(f"{database}.lock")):
        yield


def ensure_no_scheduler(engine: Engine) -> None:
    """For a worker: refuse to start while a `pulso run` holds the database."""
    with engine.connect() as connection:
        if not _try_scheduler_lock(connection):
            raise AlreadyRunning(
                "a `pulso run` process uses this database; stop it before starting workers "
                "(the two would both collect)"
            )
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK})


@contextmanager
def _postgres_lock(engine: Engine, workers_seen_within: float) -> Iterator[None]:
    connection = engine.connect()
    try:
        if not _try_scheduler_lock(connection):
            raise AlreadyRunning(
                "another `pulso run` already uses this database; run one, or scale out "
                "with `pulso worker`"
            )
        if _workers_alive(connection, workers_seen_within):
            raise AlreadyRunning(
                "`pulso worker` processes use this database; stop them, or run more "
                "workers instead (the two would both collect)"
            )
        connection.commit()  # the lock is the session's: it outlives this transaction
        yield
    finally:
        # The pooled connection would keep the lock: end the session itself.
        connection.invalidate()
        connection.close()


def _try_scheduler_lock(connection: Connection) -> bool:
    """Take the scheduler lock for this session if it is free."""
    return bool(
        connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK}
        ).scalar()
    )


def _workers_alive(connection: Connection, seconds: float) -> bool:
    exists = connection.execute(text("SELECT to_regclass('procrastinate_workers')")).scalar()
    if exists is None:
        return False
    return bool(connection.execute(text(RECENT_WORKERS), {"seconds": seconds}).scalar())


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AlreadyRunning(
                f"another `pulso run` already uses {path.with_suffix('')}; run only one"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
