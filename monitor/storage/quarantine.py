"""The quarantine (dead letter): mentions that could not be mapped, scored or stored.

One such mention used to fail its whole page on every run, and the brand's collection
with it. Now the page goes on without it; it is kept here with the stage that failed and
a one-line error, until `pulso quarantine --retry` stores it (and removes it from here).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError
from sqlalchemy.orm import Session

from monitor.kernel.normalize import clean_text
from monitor.kernel.records import Mention
from monitor.storage.schema import QuarantineRow

logger = logging.getLogger(__name__)

MAP, SCORE, STORE = "map", "score", "store"
ERROR_LENGTH = 300
# What a row's own data can make a database raise: a value out of range or not
# encodable, a constraint, a parameter the driver cannot bind. Not OperationalError or
# InterfaceError: a database that is down or full fails every row alike, and must fail
# the job (to be tried again) rather than fill the quarantine.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    DataError,
    IntegrityError,
    ProgrammingError,
    ValueError,
    TypeError,
    OverflowError,
)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Reject:
    """A mention set aside at one stage, with why."""

    source: str
    external_id: str | None
    payload: str
    stage: str
    error: str


def reject(mention: Mention, stage: str, exc: BaseException) -> Reject:
    """The Reject of `mention`, which failed at `stage` with `exc`."""
    external_id = mention.external_id if isinstance(mention.external_id, str) else None
    return Reject(
        source=clean_text(str(mention.source))[:32],
        external_id=None if external_id is None else clean_text(external_id)[:300],
        payload=mention_payload(mention),
        stage=stage,
        error=one_line(exc),
    )


def one_line(exc: BaseException) -> str:
    """`Type: message`, first line only and short (SQLAlchemy adds the statement below)."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return clean_text(text)[:ERROR_LENGTH]


def mention_payload(mention: Mention) -> str:
    """The mention as JSON text, ASCII only, so that any text it holds can be stored."""
    data: dict[str, Any] = {f.name: getattr(mention, f.name) for f in fields(Mention)}
    data["created_at"] = mention.created_at.isoformat()
    return json.dumps(data, ensure_ascii=True, default=str)


def mention_from_payload(payload: str) -> Mention:
    """The mention a payload holds (ValueError if it holds none)."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("quarantined payload is not a JSON object")
    return Mention.from_dict(data)


def is_data_error(exc: BaseException) -> bool:
    """Whether `exc` is one a row's own data can cause (see DATA_ERRORS)."""
    return isinstance(exc, DATA_ERRORS)


def isolate(
    run: Callable[[list[T]], Sequence[R]], items: list[T]
) -> tuple[list[tuple[T, R]], list[tuple[T, Exception]]]:
    """Run `run` over `items`; if it fails, over halves, down to the items that fail alone.

    Returns (item, result) pairs in order and (item, error) pairs. Halving keeps a big
    page with one bad item to a few extra runs. When every one of several items fails,
    the fault is not in the items (an engine that cannot load, say): the first error is
    raised, so the job fails and is tried again rather than the page being set aside.
    """
    results: list[tuple[T, R]] = []
    failures: list[tuple[T, Exception]] = []
    _halving(run, items, results, failures)
    if failures and not results and len(items) > 1:
        raise failures[0][1]
    return results, failures


def _halving(
    run: Callable[[list[T]], Sequence[R]],
    items: list[T],
    results: list[tuple[T, R]],
    failures: list[tuple[T, Exception]],
) -> None:
    if not items:
        return
    try:
        results.extend(zip(items, run(items), strict=True))
        return
    except Exception as exc:  # the engine's own errors are not ours to list
        if len(items) == 1:
            failures.append((items[0], exc))
            return
    middle = len(items) // 2
    _halving(run, items[:middle], results, failures)
    _halving(run, items[middle:], results, failures)


def quarantine(session: Session, brand: str, rejects: Iterable[Reject], now: datetime) -> int:
    """Keep `rejects`; one seen before (same brand, source, id) counts one more attempt."""
    count = 0
    for item in rejects:
        row = _existing(session, brand, item) if item.external_id is not None else None
        if row is None:
            session.add(
                QuarantineRow(
                    brand=brand,
                    source=item.source,
                    external_id=item.external_id,
                    payload=item.payload,
                    stage=item.stage,
                    error=item.error,
                    first_seen_at=now,
                    last_seen_at=now,
                    attempts=1,
                )
            )
        else:
            row.payload, row.stage, row.error = item.payload, item.stage, item.error
            row.last_seen_at, row.attempts = now, row.attempts + 1
        count += 1
    session.flush()
    return count


def _existing(session: Session, brand: str, item: Reject) -> QuarantineRow | None:
    return session.scalars(
        select(QuarantineRow)
        .where(
            QuarantineRow.brand == brand,
            QuarantineRow.source == item.source,
            QuarantineRow.external_id == item.external_id,
        )
        .limit(1)
    ).first()


def quarantined(session: Session, limit: int = 1000) -> list[QuarantineRow]:
    """The quarantined rows, oldest first."""
    return list(session.scalars(select(QuarantineRow).order_by(QuarantineRow.id).limit(limit)))


def quarantine_count(session: Session) -> int:
    """How many mentions are in the quarantine (for /metrics and /healthz)."""
    return int(session.scalar(select(func.count()).select_from(QuarantineRow)) or 0)


def release(session: Session, ids: Sequence[int]) -> None:
    """Remove rows from the quarantine (they are stored now)."""
    if ids:
        session.execute(delete(QuarantineRow).where(QuarantineRow.id.in_(list(ids))))


def record_attempt(session: Session, row_id: int, failure: Reject, now: datetime) -> None:
    """One more failed try of a quarantined row: its stage, error and count of attempts."""
    row = session.get(QuarantineRow, row_id)
    if row is not None:
        row.stage, row.error = failure.stage, failure.error
        row.last_seen_at, row.attempts = now, row.attempts + 1
