"""The alert outbox table's own bits: its states, queueing an event, and the backlog.

Here rather than in `monitor.delivery` so that detection (which queues) and the metrics
and health endpoints (which count) read and write the table without depending on delivery.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Update, func, select, update
from sqlalchemy.orm import Session

from monitor.kernel.events import AlertEvent
from monitor.storage.schema import DigestRow, OutboxRow

# pending: not tried, or known not delivered; sending: a try may have delivered it;
# posted: delivered, the follow-up is still to do; sent: done.
PENDING, SENDING, POSTED, SENT = "pending", "sending", "posted", "sent"
UNFINISHED = (PENDING, SENDING, POSTED)
# How `last_error` starts when the other side refused (a bad token, a missing scope): a
# person must act, and a start is when the fix takes effect. Kept in the text rather
# than in a column of its own, so that both outboxes tell a refusal without a migration.
REFUSED = "refused: "


def enqueue(session: Session, event: AlertEvent, notifiers: list[str], now: datetime) -> None:
    """Queue `event` for each notifier, in the caller's transaction (intent before delivery)."""
    for name in notifiers:
        key = f"alert:{event.alert_id}:{event.sequence}:{name}"
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


@dataclass(frozen=True, slots=True)
class Backlog:
    """A notifier's unfinished outbox rows: how many, and when the oldest was queued."""

    count: int
    oldest: datetime | None


def outbox_backlog(session: Session, notifiers: Iterable[str]) -> dict[str, Backlog]:
    """Unfinished outbox rows per notifier (every name in `notifiers` appears)."""
    found = {name: Backlog(0, None) for name in notifiers}
    rows = session.execute(
        select(OutboxRow.notifier, func.count(), func.min(OutboxRow.created_at))
        .where(OutboxRow.status.in_(UNFINISHED))
        .group_by(OutboxRow.notifier)
    )
    for notifier, count, oldest in rows:
        found[str(notifier)] = Backlog(int(count), oldest)
    return found


def count_unfinished(session: Session) -> int:
    """Alert outbox rows not finished yet, whatever their notifier, refused ones included."""
    return int(session.scalar(select(func.count()).where(OutboxRow.status.in_(UNFINISHED))) or 0)


def retry_refused_alerts(session: Session, notifiers: Collection[str], now: datetime) -> int:
    """Make the refused alert rows of `notifiers` due at `now`; how many (caller commits).

    Rows left `sending` keep their in-flight lease: a try that may still land must not be
    doubled. A pending row was refused outright, and a posted row's follow-up is safe to
    repeat, so moving them forward never sends a message twice.
    """
    moved = _due_now(OutboxRow, (PENDING, POSTED), now, OutboxRow.notifier.in_(notifiers))
    return _rowcount(session.execute(moved))


def retry_refused_digests(session: Session, now: datetime) -> int:
    """Make the refused pending digests due at `now`; how many (caller commits)."""
    return _rowcount(session.execute(_due_now(DigestRow, (PENDING,), now)))


def _due_now(
    table: type[OutboxRow] | type[DigestRow],
    statuses: tuple[str, ...],
    now: datetime,
    *where: ColumnElement[bool],
) -> Update:
    return (
        update(table)
        .where(
            table.status.in_(statuses),
            table.last_error.startswith(REFUSED, autoescape=True),
            table.next_attempt_at > now,
            *where,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
