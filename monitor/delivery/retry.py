"""What both outboxes (alerts, digests) share: the retry policy, one try, and its failure.

A failure is sorted once, here: `RetryableError` (an outage, a rate limit, an SMTP 4xx)
backs off exponentially; `PermanentError` (a revoked token, an SMTP 5xx) is kept as a
refusal (`last_error` starts with `REFUSED`) and waits the policy's longer delay, so
that a fix made on the other side (a scope granted, the bot invited) is picked up
without a retry storm, and a fix of Pulso's settings at the next start, which tries
every refused row at once (`monitor.storage.outbox.retry_refused`); a database error is
raised (the job boundary logs it, the transaction is gone); anything else is a bug in
one delivery, recorded and retried with backoff so that it does not hold back the
others. Each outbox logs and counts the failure in its own words.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy.exc import SQLAlchemyError

from monitor.kernel.redact import redact
from monitor.storage.outbox import REFUSED
from notifiers.base import PermanentError, RetryableError

ERROR_LIMIT = 1000  # characters of the last error kept on a row (the column is TEXT)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed delivery is tried again: `base` seconds doubling up to `cap`.

    `jitter` spreads each delay by ± that fraction; `permanent` is the wait after a refusal.
    """

    base: float
    cap: float
    permanent: float
    jitter: float = 0.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds before the next try after `attempts` failed ones."""
        delay = min(self.cap, self.base * 2.0 ** max(0, attempts - 1))
        if not self.jitter:
            return delay
        draw: float = (rng or random).random()
        return delay * (1.0 - self.jitter + 2.0 * self.jitter * draw)


# Alerts: 15 s doubling to 15 min, ±20% so that many rows do not all retry at one instant.
# A refusal every 5 min: what fixes it while Pulso runs is done in Slack (a scope granted,
# the bot invited, a channel unarchived), and whoever did it should not wait half an hour
# to see the alert; one call per refused incident every 5 min is far below Slack's limits.
# Digests are weekly: 1 min doubling to 1 h, a refusal every 6 h (a mail login is usually
# fixed in Pulso's settings, which a start applies, trying refused digests at once).
ALERT_RETRIES = RetryPolicy(base=15.0, cap=900.0, permanent=300.0, jitter=0.2)
DIGEST_RETRIES = RetryPolicy(base=60.0, cap=3600.0, permanent=6 * 3600.0)


class Retried(Protocol):
    """A queued row that is tried until it is delivered (an outbox or a digest row)."""

    attempts: int
    last_error: str | None
    next_attempt_at: datetime


@dataclass
class PassReport:
    """What one pass over an outbox did; `errors` maps what failed to its last error."""

    sent: int = 0
    retrying: int = 0
    errors: dict[str, str] = field(default_factory=dict)


Kind = Literal["retryable", "permanent", "unexpected"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed try, already recorded on its row."""

    kind: Kind
    error: Exception
    delay: float
    # The row already held this error: a refusal seen before, so it is not logged again
    # (this survives restarts, unlike a flag in memory).
    repeated: bool


def record_failure(row: Retried, error: str, now: datetime, delay: float) -> None:
    """Keep `error` on `row` (cut to `ERROR_LIMIT`) and put its next try `delay` s after `now`."""
    row.last_error = error[:ERROR_LIMIT]
    row.next_attempt_at = now + timedelta(seconds=delay)


def attempt(
    row: Retried,
    action: Callable[[], object],
    policy: RetryPolicy,
    clock: Callable[[], datetime],
) -> Failure | None:
    """Run one try of `row`'s delivery; None if it worked, else the failure, recorded.

    The caller counts the try (`row.attempts`) before, so that a try cut short by a crash
    still counts.
    """
    try:
        action()
    except SQLAlchemyError:
        raise  # the database, not the delivery: the job boundary logs it
    except Exception as exc:  # one delivery's failure or bug must not stop the others
        return _fail(row, exc, policy, clock())
    return None


def _fail(row: Retried, exc: Exception, policy: RetryPolicy, now: datetime) -> Failure:
    kind: Kind
    if isinstance(exc, RetryableError):
        kind, text = "retryable", str(exc)
        delay = max(exc.retry_after or 0.0, policy.delay(row.attempts))
    elif isinstance(exc, PermanentError):
        kind, text, delay = "permanent", f"{REFUSED}{exc}", policy.permanent
    else:
        kind, text = "unexpected", f"{type(exc).__name__}: {exc}"
        delay = policy.delay(row.attempts)
    text = redact(text)  # an upstream error may echo a token: never kept, shown or logged
    repeated = row.last_error == text[:ERROR_LIMIT]
    record_failure(row, text, now, delay)
    return Failure(kind, exc, delay, repeated)
