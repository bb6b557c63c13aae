"""The outbox: alert events are recorded first, then delivered with retries and backoff.

An outage never loses an alert: the row stays pending until the notifier takes it.
Permanent refusals (a revoked token, an unknown channel) are logged once per notifier
and retried every few minutes, so that a fix made in Slack delivers the backlog without
a restart; a fix of Pulso's own settings takes effect at a start, which checks each
notifier (`Notifier.check`: Slack's `auth.test`) and tries the refused rows at once.
The retry policy and the sorting of failures are the digests' too (`monitor.delivery.retry`).

Nothing goes out twice: a row is committed as `sending` before the notifier is called, so
a crash or a timeout after the request left is noticed, and the next try first asks the
notifier whether the message is already there (`Notifier.find_delivered`). Once the
message is out the row is `posted`; the notifier's follow-up (Slack: refreshing the
incident's first message) is then retried on its own, never by sending again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from monitor import telemetry
from monitor.delivery.retry import ALERT_RETRIES, Failure, PassReport, attempt, record_failure
from monitor.kernel.events import AlertEvent
from monitor.kernel.records import utcnow
from monitor.storage.outbox import (
    PENDING,
    POSTED,
    REFUSED,
    SENDING,
    SENT,
    UNFINISHED,
    count_unfinished,
    retry_refused_alerts,
)
from monitor.storage.schema import OutboxRow
from notifiers.base import (
    Notifier,
    NotifierError,
    NotifierSettings,
    PermanentError,
    RetryableError,
)

logger = logging.getLogger(__name__)

PERMANENT_DELAY = ALERT_RETRIES.permanent  # how long a refused alert waits for its next try
# When a row left `sending` by a crashed process is tried again: longer than any
# notifier's timeout, so a try still waiting for its answer is never doubled.
IN_FLIGHT_LEASE = 150.0


@dataclass
class DeliveryReport(PassReport):
    """What one pass over the outbox did; `blocked`: rows held behind an earlier event."""

    blocked: int = 0


@dataclass
class Outbox:
    """Drains due outbox rows into notifiers; remembers each notifier's last error."""

    sessions: sessionmaker[Session]
    notifiers: Mapping[str, Notifier[NotifierSettings]]
    clock: Callable[[], datetime] = utcnow
    health: dict[str, str] = field(default_factory=dict)

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """Try every due row once, oldest first; an incident's events go out in order."""
        report = DeliveryReport()
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboxRow)
                .where(OutboxRow.status.in_(UNFINISHED), OutboxRow.next_attempt_at <= self.clock())
                .order_by(OutboxRow.id)
                .limit(limit)
            ).all()
            waiting: set[tuple[int | None, str]] = set()
            for row in rows:
                thread = (row.alert_id, row.notifier)
                if thread in waiting or self._waits(session, row):
                    waiting.add(thread)
                    report.blocked += 1
                    continue
                if not self._deliver(session, row, report):
                    waiting.add(thread)
                session.commit()
        return report

    def on_start(self) -> int:
        """At a process start: check each notifier, then try its refused rows at once.

        Pulso reads its settings at start, so a start is when a fixed token takes effect.
        Every configured notifier's refused rows are tried, even if its check found a
        problem: one call each tells, and a missing read scope does not stop posting.
        Returns how many rows were moved forward.
        """
        for name, notifier in self.notifiers.items():
            self._check(name, notifier)
        with self.sessions.begin() as session:
            moved = retry_refused_alerts(session, list(self.notifiers), self.clock())
        if moved:
            logger.info("%d refused alert messages are tried again now", moved)
        return moved

    def waiting(self) -> int:
        """How many rows are not delivered yet: backing off, refused or held back."""
        with self.sessions() as session:
            return count_unfinished(session)

    def _check(self, name: str, notifier: Notifier[NotifierSettings]) -> None:
        """Log what the notifier's own check finds, one ERROR line per problem."""
        try:
            problems = notifier.check()
        except RetryableError as exc:
            logger.warning(
                "%s: cannot check its settings now (%s); alerts queue meanwhile", name, exc
            )
            return
        except Exception as exc:  # a broken check must not stop the start
            logger.error("%s: checking its settings failed", name, exc_info=exc)
            return
        for problem in problems:
            logger.error("%s: %s", name, problem)
        if problems:  # a refusal with the same code is then not logged again
            self.health[name] = f"error: {problems[0].code}"

    def next_due(self) -> datetime | None:
        """When the earliest unfinished row that is not waiting for an earlier one is due."""
        earlier = aliased(OutboxRow)
        held = (
            exists()
            .where(*_before_it(earlier, OutboxRow.alert_id, OutboxRow.notifier, OutboxRow.id))
            .correlate(OutboxRow)
        )
        with self.sessions() as session:
            return session.scalar(
                select(OutboxRow.next_attempt_at)
                .where(OutboxRow.status.in_(UNFINISHED), ~held)
                .order_by(OutboxRow.next_attempt_at)
                .limit(1)
            )

    def _waits(self, session: Session, row: OutboxRow) -> bool:
        """Whether an earlier event of the same incident is still unfinished for this notifier.

        Checked in the database, not only in this pass: an earlier row backing off must
        hold back later ones, or a resolution could overtake its escalation.
        """
        if row.alert_id is None:
            return False
        earlier = session.scalar(
            select(OutboxRow.id)
            .where(*_before_it(OutboxRow, row.alert_id, row.notifier, row.id))
            .limit(1)
        )
        return earlier is not None

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
        row.attempts += 1
        if notifier is None:
            error = f"{REFUSED}notifier {row.notifier!r} is not configured"
            record_failure(row, error, self.clock(), PERMANENT_DELAY)
            report.retrying += 1
            return False
        root = self._root(session, row) if row.event != "opened" else None
        thread_ref = root.delivery_ref if root else None
        event = AlertEvent.from_dict(row.payload)

        # One try, run by `attempt`, which records and sorts its failure.
        def hand_over() -> None:
            if row.status != POSTED:
                row.delivery_ref = self._send_once(session, notifier, row, event, thread_ref)
                row.status = POSTED
                session.commit()  # the message is out: from here on it is never sent again
            notifier.follow_up(event, thread_ref)

        failure = attempt(row, hand_over, ALERT_RETRIES, self.clock)
        if failure is None:
            row.status, row.delivered_at = SENT, self.clock()
            telemetry.MESSAGES_DELIVERED.labels(row.notifier).inc()
            row.last_error = None
            self.health[row.notifier] = "ok"
            report.sent += 1
            return True
        self._log_failure(row, failure)
        report.retrying += 1
        report.errors[row.notifier] = row.last_error or ""
        return False

    def _send_once(
        self,
        session: Session,
        notifier: Notifier[NotifierSettings],
        row: OutboxRow,
        event: AlertEvent,
        thread_ref: str | None,
    ) -> str | None:
        """Send the row's event unless an earlier, interrupted try already delivered it."""
        if row.status == SENDING:
            found = notifier.find_delivered(event, row.idempotency_key, thread_ref, row.created_at)
            if found is not None:
                logger.info(
                    "%s: %s was delivered by an interrupted try (%s); not sending it again",
                    row.notifier,
                    row.idempotency_key,
                    found,
                )
                return found
        row.status = SENDING
        row.next_attempt_at = self.clock() + timedelta(seconds=IN_FLIGHT_LEASE)
        session.commit()  # in flight before the request leaves: a crash is checked, not resent
        try:
            return notifier.send(event, thread_ref, row.idempotency_key)
        except NotifierError as exc:
            if not (isinstance(exc, RetryableError) and exc.maybe_delivered):
                row.status = PENDING  # refused outright: nothing to look for next time
            raise

    def _log_failure(self, row: OutboxRow, failure: Failure) -> None:
        exc = failure.error
        if failure.kind == "retryable":
            logger.warning(
                "%s: delivery of %s delayed %.0fs: %s",
                row.notifier,
                row.idempotency_key,
                failure.delay,
                exc,
            )
        elif isinstance(exc, PermanentError):
            self._report_permanent(row.notifier, exc)
        else:  # the traceback, as logger.exception would have written it in the handler
            logger.error(
                "%s: unexpected error delivering %s",
                row.notifier,
                row.idempotency_key,
                exc_info=exc,
            )

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


def _before_it(
    earlier: type[OutboxRow], alert_id: object, notifier: object, row_id: object
) -> tuple[ColumnElement[bool], ...]:
    """`earlier` is an unfinished event of the same incident for the same notifier, queued
    before the row (`alert_id`, `notifier`, `row_id`): that row must wait for it."""
    return (
        earlier.alert_id == alert_id,
        earlier.notifier == notifier,
        earlier.id < row_id,
        earlier.status.in_(UNFINISHED),
    )
