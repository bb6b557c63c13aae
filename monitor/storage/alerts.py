"""Alert rows (incidents) as plain records: a brand's open ones read at once, one written back.

Detection never holds a row: it reads `AlertRecord`s, decides, and hands records back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.storage.schema import AlertRow

PENDING, FIRING, RESOLVED = "pending", "firing", "resolved"
OPEN = (PENDING, FIRING)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert row's columns; `id` is None until the row is stored."""

    id: int | None
    rule: str
    status: str
    severity: str
    started_at: datetime
    last_firing_at: datetime
    resolved_at: datetime | None
    peak_negative: int
    details: dict[str, Any]
    historical: bool = False  # computed afterwards from stored history: never live

    @property
    def stored_id(self) -> int:
        """The row's id; asking it of an alert not stored yet is a programming error."""
        if self.id is None:
            raise ValueError(f"the {self.rule} alert is not stored yet")
        return self.id


def open_alerts(
    session: Session, brand: str, rules: Sequence[str], statuses: Sequence[str] = OPEN
) -> dict[str, AlertRecord]:
    """The brand's live pending or firing alert of each of `rules` (the oldest if two).

    Historical incidents are left out: the live detector never steps them.
    """
    rows = session.scalars(
        select(AlertRow)
        .where(
            AlertRow.brand == brand,
            AlertRow.rule.in_(rules),
            AlertRow.status.in_(statuses),
            AlertRow.historical.is_(False),
        )
        .order_by(AlertRow.id)
    )
    found: dict[str, AlertRecord] = {}
    for row in rows:
        found.setdefault(row.rule, _record(row))
    return found


# The record's fields are the row's columns, by the same names.
_COLUMNS = tuple(name for name in AlertRecord.__dataclass_fields__ if name != "details")
_CHANGING = tuple(name for name in _COLUMNS if name not in ("id", "rule"))


def _record(row: AlertRow) -> AlertRecord:
    columns = {name: getattr(row, name) for name in _COLUMNS}
    return AlertRecord(**columns, details=dict(row.details or {}))


def save_alert(session: Session, brand: str, alert: AlertRecord) -> AlertRecord:
    """Insert or update the alert's row; flushed, so a new one comes back with its id."""
    if alert.id is None:
        row = AlertRow(brand=brand, rule=alert.rule)
        session.add(row)
    else:
        row = session.get_one(AlertRow, alert.id)
    for name in _CHANGING:
        setattr(row, name, getattr(alert, name))
    row.details = alert.details
    session.flush()
    return replace(alert, id=row.id)


def drop_alert(session: Session, alert_id: int) -> None:
    """Delete an alert row (a pending burst that faded: nobody was told about it)."""
    session.delete(session.get_one(AlertRow, alert_id))


def save_details(session: Session, alert_id: int, details: dict[str, Any]) -> None:
    """Replace an alert's details (what its events announced, their sequence)."""
    session.get_one(AlertRow, alert_id).details = details


def drop_historical(session: Session, brand: str, start: datetime, end: datetime) -> int:
    """Delete the brand's historical incidents that started in [start, end); how many."""
    result = session.execute(
        delete(AlertRow)
        .where(
            AlertRow.brand == brand,
            AlertRow.historical.is_(True),
            AlertRow.started_at >= start,
            AlertRow.started_at < end,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def incident_spans(
    session: Session, brand: str, rules: Sequence[str], start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime | None]]:
    """(rule, started, resolved or None) of the brand's incidents touching [start, end)."""
    rows = session.execute(
        select(AlertRow.rule, AlertRow.started_at, AlertRow.resolved_at).where(
            AlertRow.brand == brand,
            AlertRow.rule.in_(rules),
            AlertRow.status.in_((FIRING, RESOLVED)),
            AlertRow.started_at < end,
            AlertRow.resolved_at.is_(None) | (AlertRow.resolved_at >= start),
        )
    )
    return [(rule, started, resolved) for rule, started, resolved in rows]
