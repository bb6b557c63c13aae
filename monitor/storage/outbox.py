"""The alert outbox table's own bits: its states, queueing an event, and the backlog.

Here rather than in `monitor.delivery` so that detection (which queues) and the metrics
and health endpoints (which count) read and write the table without depending on delivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.kernel.events import AlertEvent
from monitor.storage.schema import OutboxRow

# pending: not tried, or known not delivered; sending: a try may have delivered it;
# posted: delivered, the follow-up is still to do; sent: done.
PENDING, SENDING, POSTED, SENT = "pending", "sending", "posted", "sent"
UNFINISHED = (PENDING, SENDING, POSTED)


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
