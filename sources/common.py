"""What the platform sources share: retries with backoff, and resumable newest-first sweeps.

Most search APIs answer newest first and page backwards. A sweep starts from the newest
post and pages back until it reaches what the previous sweep already saw (`since`).
The cursor saved with each page holds both the finished high-water mark and the sweep in
progress, so a crash in the middle of a sweep resumes where it stopped: no gap (the rest
of the sweep is still fetched) and no duplicate (the store ignores known posts anyway).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from sources.base import RateLimited, SourceError

logger = logging.getLogger(__name__)

T = TypeVar("T")
ATTEMPTS = 3
BASE_DELAY = 1.0
MAX_DELAY = 30.0


class TransientError(SourceError):
    """A 5xx, a timeout or a dropped connection: worth another try soon."""


def with_retries(
    call: Callable[[], T],
    what: str,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run `call`; retry `TransientError` with exponential backoff and jitter.

    `RateLimited` is not retried here: the job gives up until its next tick (or the
    platform's reset time) rather than hammering an API that asked us to slow down.
    After the last attempt the `TransientError` propagates and the job tries next tick.
    """
    import time

    from tenacity import (
        RetryCallState,
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
    )

    jitter = rng or random.Random()

    def wait(state: RetryCallState) -> float:
        delay = min(MAX_DELAY, BASE_DELAY * 2.0 ** (state.attempt_number - 1))
        return float(delay * (0.5 + jitter.random()))

    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning("%s failed (%s), try %d of %d", what, error, state.attempt_number, attempts)

    retrying = Retrying(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(attempts),
        wait=wait,
        sleep=sleep or time.sleep,
        before_sleep=log,
        reraise=True,
    )
    return retrying(call)


@dataclass(frozen=True, slots=True)
class Sweep:
    """Cursor state of a newest-first source.

    `since`: the newest id (or time) fully collected by finished sweeps.
    `top`: the newest id seen by the sweep in progress (becomes `since` when it ends).
    `token`: the platform's token for the next (older) page of the sweep in progress.
    """

    since: str | None = None
    top: str | None = None
    token: str | None = None

    @classmethod
    def load(cls, cursor: str | None) -> Sweep:
        """Parse a saved cursor (None: nothing collected yet)."""
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls(since=cursor)  # a bare id from an older cursor format
        return cls(data.get("since"), data.get("top"), data.get("token"))

    def dump(self) -> str:
        """The cursor to save."""
        return json.dumps({"since": self.since, "top": self.top, "token": self.token})

    @property
    def in_progress(self) -> bool:
        """Whether a sweep stopped in the middle (resume it with `token`)."""
        return self.token is not None

    def after_page(self, newest: str | None, next_token: str | None) -> tuple[Sweep, bool]:
        """The state after one page (`newest`: its newest id); True if the sweep goes on."""
        top = self.top if self.top is not None else newest
        if next_token:
            return replace(self, top=top, token=next_token), True
        return Sweep(since=top if top is not None else self.since), False


def raise_for_status(status: int, what: str, retry_after: float | None = None) -> None:
    """Turn an HTTP status into the source error the pipeline understands."""
    if status == 429:
        raise RateLimited(f"{what}: rate limited (HTTP 429)", retry_after=retry_after)
    if status >= 500:
        raise TransientError(f"{what}: server error (HTTP {status})")
    if status >= 400:
        raise SourceError(f"{what}: refused (HTTP {status})")
