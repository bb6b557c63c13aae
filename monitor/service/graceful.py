"""Stopping within a grace period: jobs run on daemon threads that can be waited for, or left.

APScheduler's stock thread pool uses `concurrent.futures`, whose worker threads the
interpreter joins at exit: one job stuck on a slow network call would keep a stopping
process alive past any grace period. These threads are daemons; a stop waits for them
with a deadline instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Any


class DaemonThreads:
    """A minimal `concurrent.futures`-style pool: each task runs on its own daemon thread,
    at most `max_workers` at once."""

    def __init__(self, max_workers: int) -> None:
        self._slots = threading.BoundedSemaphore(max_workers)
        self._lock = threading.Lock()
        self._unfinished: set[Future[Any]] = set()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run `fn(*args, **kwargs)` on a daemon thread as soon as a slot is free."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot run new tasks: the pool is shut down")
            self._unfinished.add(future)
        name = f"pulso-job-{getattr(fn, '__name__', 'task')}"
        thread = threading.Thread(
            target=self._run, args=(future, fn, args, kwargs), name=name, daemon=True
        )
        thread.start()
        return future

    def _run(self, future: Future[Any], fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        with self._slots:
            try:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to the future, as concurrent.futures does
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            finally:
                with self._lock:
                    self._unfinished.discard(future)

    def shutdown(self, wait: bool = True) -> None:
        """Refuse new tasks; with `wait`, block until the submitted ones are done."""
        with self._lock:
            self._closed = True
        if wait:
            self.wait_idle(None)

    def running(self) -> int:
        """How many submitted tasks have not finished."""
        with self._lock:
            return len(self._unfinished)

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait up to `timeout` seconds for every submitted task; whether they all finished."""
        with self._lock:
            pending = list(self._unfinished)
        if timeout is not None and timeout <= 0:
            return not pending
        _, not_done = wait(pending, timeout=timeout)
        return not not_done


def scheduler_executor(pool: DaemonThreads) -> Any:
    """An APScheduler 3 executor that runs jobs on `pool`."""
    from apscheduler.executors.pool import BasePoolExecutor

    class DaemonPoolExecutor(BasePoolExecutor):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(pool)

    return DaemonPoolExecutor()


def run_within(seconds: float, func: Callable[[], object], name: str) -> bool:
    """Run `func` on a daemon thread; whether it finished within `seconds`."""
    if seconds <= 0:
        return False
    thread = threading.Thread(target=func, name=name, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()
