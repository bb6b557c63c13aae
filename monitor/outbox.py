"""The outbox: alert events are recorded first, then delivered with retries and backoff.

An outage never loses an alert: the row stays pending until the notifier takes it.
Permanent refusals (a revoked token, an unknown channel) are logged once per notifier
and retried slowly, so that fixing the setting delivers the backlog without a restart loop.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.events import AlertEvent
from monitor.records import utcnow
from monitor.schema import OutboxRow
from notifiers.base import Notifier, PermanentError, RetryableError

logger = logging.getLogger(__name__)

PENDING, SENT = "pending", "sent"
BASE_DELAY = 15.0
MAX_DELAY = 900.0
PERMANENT_DELAY = 1800.0


def enqueue(session: Session, event: AlertEvent, notifiers: list[str], now: datetime) -> None:
    """Queue `event` for each notifier, in the caller's transaction (intent before delivery)."""
    for name in notifiers:
        key = f"alert:{event.alert_id}:{event.kind}:{event.severity}:{name}"
        session.add(
            OutboxRow(
                idempotency_key=key,
                notifier=name,
                alert_id=event.alert_id,
                event=event.kind,
                payload=event.to_dict(),
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next try: exponential from 15 s, capped at 15 min, ±20% jitter."""
    delay = min(MAX_DELAY, BASE_DELAY * 2.0 ** max(0, attempts - 1))
    jitter: float = (rng or random).random()
    return delay * (0.8 + 0.4 * jitter)


@dataclass
class DeliveryReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retrying: int = 0
    blocked: int = 0
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Outbox:
    """Drains due outbox rows into notifiers; remembers each notifier's last error."""

    sessions: sessionmaker[Session]
    notifiers: Mapping[str, Notifier]
    clock: Callable[[], datetime] = utcnow
    health: dict[str, str] = field(default_factory=dict)

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """Try every due row once, oldest first; an incident's updates wait for its root."""
        report = DeliveryReport()
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboxRow)
                .where(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= self.clock())
                .order_by(OutboxRow.id)
                .limit(limit)
            ).all()
            waiting: set[tuple[int | None, str]] = set()
            for row in rows:
                thread = (row.alert_id, row.notifier)
                if thread in waiting or not self._root_sent(session, row):
                    waiting.add(thread)
                    report.blocked += 1
                    continue
                if not self._deliver(session, row, report):
                    waiting.add(thread)
                session.commit()
        return report

    def next_due(self) -> datetime | None:
        """When the earliest pending row is due, if any."""
        with self.sessions() as session:
            return session.scalar(
                select(OutboxRow.next_attempt_at)
                .where(OutboxRow.status == PENDING)
                .order_by(OutboxRow.next_attempt_at)
                .limit(1)
            )

    def _root_sent(self, session: Session, row: OutboxRow) -> bool:
        if row.event == "opened" or row.alert_id is None:
            return True
        root = self._root(session, row)
        return root is not None and root.status == SENT

    def _root(self, session: Session, row: OutboxRow) -> OutboxRow | None:
        return session.scalar(
            select(OutboxRow).where(
                OutboxRow.alert_id == row.alert_id,
                OutboxRow.notifier == row.notifier,
                OutboxRow.event == "opened",
            )
        )

    def _deliver(self, session: Session, row: OutboxRow, report: DeliveryReport) -> bool:
        notifier = self.notifiers.get(row.notifier)
        if notifier is None:
            self._fail(row, f"notifier {row.notifier!r} is not configured", PERMANENT_DELAY)
            report.retrying += 1
            return False
        root = self._root(session, row) if row.event != "opened" else None
        try:
            ref = notifier.send(
                AlertEvent.from_dict(row.payload), root.delivery_ref if root else None
            )
        except RetryableError as exc:
            delay = max(exc.retry_after or 0.0, backoff(row.attempts + 1))
            self._fail(row, str(exc), delay)
            logger.warning(
                "%s: delivery of %s delayed %.0fs: %s",
                row.notifier,
                row.idempotency_key,
                delay,
                exc,
            )
        except PermanentError as exc:
            self._fail(row, str(exc), PERMANENT_DELAY)
            self._report_permanent(row.notifier, exc)
        except Exception as exc:  # a notifier bug must not stop the others
            self._fail(row, f"{type(exc).__name__}: {exc}", backoff(row.attempts + 1))
            logger.exception(
                "%s: unexpected error delivering %s", row.notifier, row.idempotency_key
            )
        else:
            row.status, row.delivered_at, row.delivery_ref = SENT, self.clock(), ref
            row.attempts += 1
            row.last_error = None
            self.health[row.notifier] = "ok"
            report.sent += 1
            return True
        report.retrying += 1
        report.errors[row.notifier] = row.last_error or ""
        return False

    def _fail(self, row: OutboxRow, error: str, delay: float) -> None:
        row.attempts += 1
        row.last_error = error[:1000]
        row.next_attempt_at = self.clock() + timedelta(seconds=delay)

    def _report_permanent(self, notifier: str, exc: PermanentError) -> None:
        state = f"error: {exc.code}"
        if self.health.get(notifier) != state:
            logger.error(
                "%s refuses alerts (%s); they stay queued and go out once the setting is fixed. %s",
                notifier,
                exc.code,
                exc,
            )
        self.health[notifier] = state
