"""The digest outbox: each weekly digest is queued once, then mailed with retries.

A (brand, week, key) row is written before anything is sent, so a restart neither
repeats a digest nor forgets one. Unreachable servers back off exponentially; refusals
(bad credentials, unknown recipient) are logged once and retried slowly, and at once
when Pulso starts (`retry_refused`), so fixing the setting delivers the backlog. A
crash between the send and its commit can repeat one mail: SMTP offers no way to ask
whether it went out. The retry policy and the sorting of failures are the alert
outbox's too (`monitor.delivery.retry`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.delivery.retry import DIGEST_RETRIES, Failure, PassReport, attempt
from monitor.storage.outbox import PENDING, SENT, retry_refused_digests
from monitor.storage.schema import DigestRow

logger = logging.getLogger(__name__)

_WEEK = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")


def queue_digest(
    session: Session,
    brand: str,
    week: str,
    key: str,
    now: datetime,
    *,
    locale: str = "en",
    recipients: Sequence[str] = (),
) -> bool:
    """Queue the digest of `brand` for ISO `week` ("2026-W47"); False if already queued or sent."""
    if not _WEEK.match(week):
        raise ValueError(f"week {week!r} is not an ISO week such as 2026-W47")
    if _find(session, brand, week, key) is not None:
        return False
    row = DigestRow(
        brand=brand,
        week=week,
        digest_key=key,
        locale=locale,
        recipients=list(recipients),
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():  # another process may queue the same digest meanwhile
            session.add(row)
    except IntegrityError:
        return False
    logger.info("digest %s %s (%s) queued", brand, week, key)
    return True


def _find(session: Session, brand: str, week: str, key: str) -> DigestRow | None:
    return session.scalar(
        select(DigestRow).where(
            DigestRow.brand == brand, DigestRow.week == week, DigestRow.digest_key == key
        )
    )


def retry_refused(sessions: sessionmaker[Session], now: datetime) -> int:
    """At a start, when a fixed mail setting takes effect: refused digests are due `now`."""
    with sessions.begin() as session:
        moved = retry_refused_digests(session, now)
    if moved:
        logger.info("%d refused digests are tried again now", moved)
    return moved


@dataclass
class DigestReport(PassReport):
    """What one pass over the digest outbox did; `refused`: digests the server refused."""

    refused: int = 0


def deliver_digests(
    sessions: sessionmaker[Session],
    build: Callable[[DigestRow], EmailMessage],
    send: Callable[[EmailMessage], object],
    now: datetime,
    limit: int = 50,
) -> DigestReport:
    """Mail every due pending digest once, oldest first; failures stay queued for later."""
    report = DigestReport()
    with sessions() as session:
        rows = session.scalars(
            select(DigestRow)
            .where(DigestRow.status == PENDING, DigestRow.next_attempt_at <= now)
            .order_by(DigestRow.next_attempt_at, DigestRow.id)
            .limit(limit)
        ).all()
        for row in rows:
            _deliver(row, build, send, now, report)
            session.commit()
    return report


def _deliver(
    row: DigestRow,
    build: Callable[[DigestRow], EmailMessage],
    send: Callable[[EmailMessage], object],
    now: datetime,
    report: DigestReport,
) -> None:
    name = f"{row.brand} {row.week} ({row.digest_key})"
    row.attempts += 1
    failure = attempt(row, lambda: send(build(row)), DIGEST_RETRIES, lambda: now)
    if failure is None:
        row.status, row.sent_at, row.last_error = SENT, now, None
        logger.info("digest %s sent to %d recipients", name, len(row.recipients))
        report.sent += 1
        return
    _log_failure(name, failure)
    if failure.kind == "permanent":
        report.refused += 1
    else:
        report.retrying += 1
    report.errors[name] = row.last_error or ""


def _log_failure(name: str, failure: Failure) -> None:
    exc = failure.error
    if failure.kind == "retryable":
        logger.warning("digest %s delayed %.0fs: %s", name, failure.delay, exc)
    elif failure.kind == "permanent":
        if not failure.repeated:  # once per row and error, even across restarts
            logger.error(
                "digest %s refused; it stays queued and is retried every %.0f min: %s",
                name,
                DIGEST_RETRIES.permanent / 60,
                exc,
            )
    else:  # a rendering bug must not hold back the other digests; its traceback is logged
        logger.error("digest %s: unexpected error", name, exc_info=exc)
