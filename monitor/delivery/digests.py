"""The digest outbox: each weekly digest is queued once, then mailed with retries.

A (brand, week, key) row is written before anything is sent, so a restart neither
repeats a digest nor forgets one. Unreachable servers back off exponentially; refusals
(bad credentials, unknown recipient) are logged once and retried slowly, so fixing the
setting delivers the backlog. A crash between the send and its commit can repeat one
mail: SMTP offers no way to ask whether it went out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.storage.schema import DigestRow
from notifiers import MailPermanent, MailRetryable

logger = logging.getLogger(__name__)

PENDING, SENT = "pending", "sent"
BASE_DELAY = 60.0
MAX_DELAY = 3600.0
PERMANENT_DELAY = 6 * 3600.0
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


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` failures: 1 min doubling, capped at 1 h."""
    return min(MAX_DELAY, BASE_DELAY * 2.0 ** max(0, attempts - 1))


@dataclass
class DigestReport:
    """What one pass over the digest outbox did."""

    sent: int = 0
    retrying: int = 0
    refused: int = 0
    errors: dict[str, str] = field(default_factory=dict)


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
    try:
        send(build(row))
    except MailRetryable as exc:
        delay = backoff(row.attempts)
        _fail(row, str(exc), now, delay)
        logger.warning("digest %s delayed %.0fs: %s", name, delay, exc)
        report.retrying += 1
    except MailPermanent as exc:
        if row.last_error != str(exc)[:1000]:  # once per row and error, even across restarts
            logger.error(
                "digest %s refused; it stays queued and is retried every %.0f min: %s",
                name,
                PERMANENT_DELAY / 60,
                exc,
            )
        _fail(row, str(exc), now, PERMANENT_DELAY)
        report.refused += 1
    except SQLAlchemyError:
        raise  # the database, not the mail: the job boundary logs it
    except Exception as exc:  # a rendering bug must not hold back the other digests
        _fail(row, f"{type(exc).__name__}: {exc}", now, backoff(row.attempts))
        logger.exception("digest %s: unexpected error", name)
        report.retrying += 1
    else:
        row.status, row.sent_at, row.last_error = SENT, now, None
        logger.info("digest %s sent to %d recipients", name, len(row.recipients))
        report.sent += 1
        return
    report.errors[name] = row.last_error or ""


def _fail(row: DigestRow, error: str, now: datetime, delay: float) -> None:
    row.last_error = error[:1000]
    row.next_attempt_at = now + timedelta(seconds=delay)
