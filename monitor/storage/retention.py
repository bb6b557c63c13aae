"""Retention: old rows leave each table once a day, in small batches.

```yaml
retention:            # days; the defaults
  mentions_days: 400  # by when the post was written; its brand links, tags and themes go too
  alerts_days: 730    # resolved incidents, by when they resolved
  outbox_days: 90     # delivered alert messages, by when they went out
  digests_days: 400   # sent digests, by when they went out
```

Open incidents, undelivered messages and pending digests are never deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from monitor.settings import RetentionSettings
from monitor.storage.outbox import SENT
from monitor.storage.schema import (
    AlertRow,
    DigestRow,
    MentionBrandRow,
    MentionRow,
    MentionThemeRow,
    MentionTouchpointRow,
    OutboxRow,
    QuarantineRow,
)

logger = logging.getLogger(__name__)

# Ids per transaction: each batch holds its locks for a moment, not for the whole purge.
BATCH = 5000
RESOLVED = "resolved"
TABLES = (
    "mentions",
    "mention_brands",
    "mention_touchpoints",
    "mention_themes",
    "alerts",
    "outbox",
    "digests",
    "quarantine",
)
_MENTION_CHILDREN: tuple[tuple[str, Any], ...] = (
    ("mention_brands", MentionBrandRow),
    ("mention_touchpoints", MentionTouchpointRow),
    ("mention_themes", MentionThemeRow),
)


def apply_retention(
    sessions: sessionmaker[Session],
    settings: RetentionSettings,
    now: datetime,
    batch: int = BATCH,
) -> dict[str, int]:
    """Delete what is past each table's horizon; return the rows deleted per table."""
    counts = dict.fromkeys(TABLES, 0)
    mentions_before = now - timedelta(days=settings.mentions_days)
    alerts_before = now - timedelta(days=settings.alerts_days)
    outbox_before = now - timedelta(days=settings.outbox_days)
    digests_before = now - timedelta(days=settings.digests_days)
    _purge(
        sessions,
        MentionRow.id,
        MentionRow.created_at < mentions_before,
        batch,
        counts,
        delete_mentions,
    )
    _purge(
        sessions,
        OutboxRow.id,
        (OutboxRow.status == SENT) & (OutboxRow.delivered_at < outbox_before),
        batch,
        counts,
        _delete_outbox,
    )
    unfinished = exists().where(OutboxRow.alert_id == AlertRow.id, OutboxRow.status != SENT)
    _purge(
        sessions,
        AlertRow.id,
        (AlertRow.status == RESOLVED) & (AlertRow.resolved_at < alerts_before) & ~unfinished,
        batch,
        counts,
        _delete_alerts,
    )
    _purge(
        sessions,
        DigestRow.id,
        (DigestRow.status == SENT) & (DigestRow.sent_at < digests_before),
        batch,
        counts,
        _delete_digests,
    )
    # Set-aside mentions hold a post and its author: kept no longer than mentions are.
    _purge(
        sessions,
        QuarantineRow.id,
        QuarantineRow.last_seen_at < mentions_before,
        batch,
        counts,
        _delete_quarantined,
    )
    logger.info(
        "retention: deleted %s",
        ", ".join(f"{counts[name]} {name}" for name in TABLES),
    )
    return counts


def _purge(
    sessions: sessionmaker[Session],
    id_column: InstrumentedAttribute[int],
    condition: ColumnElement[bool],
    batch: int,
    counts: dict[str, int],
    remove: Callable[[Session, Sequence[int]], dict[str, int]],
) -> None:
    """Select up to `batch` ids past the horizon and `remove` them, one transaction each."""
    while True:
        with sessions.begin() as session:
            ids = list(
                session.scalars(select(id_column).where(condition).order_by(id_column).limit(batch))
            )
            if ids:
                for table, deleted in remove(session, ids).items():
                    counts[table] += deleted
        if len(ids) < batch:
            return


def delete_mentions(session: Session, ids: Sequence[int]) -> dict[str, int]:
    """Delete mentions and their brand links, touchpoints and themes; counts per table.

    The foreign keys cascade on both databases, but only while SQLite has
    `foreign_keys=ON` on that connection; deleting the children first does not depend on it.
    """
    counts = {}
    for table, row in _MENTION_CHILDREN:
        counts[table] = _rowcount(session, delete(row).where(row.mention_id.in_(ids)))
    counts["mentions"] = _rowcount(session, delete(MentionRow).where(MentionRow.id.in_(ids)))
    return counts


def _delete_outbox(session: Session, ids: Sequence[int]) -> dict[str, int]:
    return {"outbox": _rowcount(session, delete(OutboxRow).where(OutboxRow.id.in_(ids)))}


def _delete_alerts(session: Session, ids: Sequence[int]) -> dict[str, int]:
    # Their delivered messages would keep them through the foreign key (no cascade there).
    outbox = delete(OutboxRow).where(OutboxRow.alert_id.in_(ids), OutboxRow.status == SENT)
    themes = delete(MentionThemeRow).where(MentionThemeRow.alert_id.in_(ids))
    return {
        "outbox": _rowcount(session, outbox),
        "mention_themes": _rowcount(session, themes),
        "alerts": _rowcount(session, delete(AlertRow).where(AlertRow.id.in_(ids))),
    }


def _delete_digests(session: Session, ids: Sequence[int]) -> dict[str, int]:
    return {"digests": _rowcount(session, delete(DigestRow).where(DigestRow.id.in_(ids)))}


def _delete_quarantined(session: Session, ids: Sequence[int]) -> dict[str, int]:
    return {
        "quarantine": _rowcount(session, delete(QuarantineRow).where(QuarantineRow.id.in_(ids)))
    }


def _rowcount(session: Session, statement: Any) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
