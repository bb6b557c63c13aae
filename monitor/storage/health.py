"""Source health: when each (brand, source) last worked, how often it failed since, and why.

Kept in the database, so `pulso sources` (another process) can show it and a restart
keeps honouring a platform's rate-limit reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.kernel.redact import redact
from monitor.storage.schema import MentionBrandRow, MentionRow, SourceHealthRow

DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One line of `pulso sources`."""

    brand: str
    source: str
    state: str  # ok, failing, rate-limited, never run
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    mentions_last_hour: int
    retry_at: datetime | None


def _row(session: Session, brand: str, source: str, now: datetime) -> SourceHealthRow:
    row = session.get(SourceHealthRow, (brand, source))
    if row is None:
        row = SourceHealthRow(
            brand=brand, source=source, last_attempt_at=now, consecutive_failures=0
        )
        session.add(row)
    return row


def waiting_until(session: Session, brand: str, source: str, now: datetime) -> datetime | None:
    """The platform's rate-limit reset if it is still ahead, else None."""
    row = session.get(SourceHealthRow, (brand, source))
    if row is None or row.retry_at is None or row.retry_at <= now:
        return None
    return row.retry_at


def record_success(session: Session, brand: str, source: str, now: datetime) -> None:
    """A collection went through."""
    row = _row(session, brand, source, now)
    row.last_attempt_at = row.last_success_at = now
    row.consecutive_failures, row.failing_since = 0, None
    row.last_error, row.retry_at = None, None


def record_failure(
    session: Session,
    brand: str,
    source: str,
    now: datetime,
    error: str,
    retry_after: float | None = None,
    rate_limited: bool = False,
) -> None:
    """A collection failed; a rate limit also says when to try again.

    The error is redacted before it is stored (the last line of defence: it is read by
    `/healthz`, `pulso sources` and the source alerts).
    """
    row = _row(session, brand, source, now)
    row.last_attempt_at = now
    row.consecutive_failures = (row.consecutive_failures or 0) + 1
    row.failing_since = row.failing_since or now
    row.last_error = redact(error)[:1000]
    if rate_limited:
        wait = timedelta(seconds=retry_after) if retry_after else DEFAULT_RATE_LIMIT_WAIT
        row.retry_at = now + wait


def source_state(row: SourceHealthRow, now: datetime) -> str:
    """ok, failing or rate-limited (a reset still ahead)."""
    if row.retry_at is not None and row.retry_at > now:
        return "rate-limited"
    return "failing" if row.consecutive_failures else "ok"


def statuses(session: Session, pairs: list[tuple[str, str]], now: datetime) -> list[SourceStatus]:
    """The health of each configured (brand, source), with its mentions in the last hour.

    Errors are redacted again as they are read: a row an older version stored verbatim.
    """
    since = int((now - timedelta(hours=1)).timestamp())
    counts = {
        (str(brand), str(source)): int(n)
        for brand, source, n in session.execute(
            select(MentionBrandRow.brand, MentionRow.source, func.count())
            .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
            .where(MentionBrandRow.created_ts >= since)
            .group_by(MentionBrandRow.brand, MentionRow.source)
        )
    }
    found = []
    for brand, source in pairs:
        row = session.get(SourceHealthRow, (brand, source))
        state = "never run" if row is None else source_state(row, now)
        found.append(
            SourceStatus(
                brand=brand,
                source=source,
                state=state,
                last_success_at=row.last_success_at if row else None,
                consecutive_failures=row.consecutive_failures if row else 0,
                last_error=redact(row.last_error) if row and row.last_error else None,
                mentions_last_hour=counts.get((brand, source), 0),
                retry_at=row.retry_at if row else None,
            )
        )
    return found
