"""Reading and writing mentions, cursors and bucket counts (parameterised queries only)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Row, and_, bindparam, case, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models.sentiment import Sentiment
from monitor.kernel.records import Mention, utcnow
from monitor.storage.schema import (
    CursorRow,
    MentionBrandRow,
    MentionRow,
    MentionThemeRow,
    MentionTouchpointRow,
)

CHUNK = 500
# The label of a mention stored before its score (scaled mode scores on other workers).
PENDING = "pending"
# Ids looked up per query: well under SQLite's and PostgreSQL's bound-parameter limits.
LOOKUP_CHUNK = 2000
_MENTION_KEY = ("source", "external_id", "id")
_LOOKUP = select(MentionRow.id, MentionRow.external_id).where(
    MentionRow.source == bindparam("source"),
    MentionRow.external_id.in_(bindparam("ids", expanding=True)),
)


@dataclass(frozen=True, slots=True)
class StoredMention:
    """A stored mention as the detector and the alerts see it."""

    id: int
    lang: str | None
    touchpoints: tuple[str, ...]
    text: str
    url: str | None
    source: str
    author: str | None
    created_at: datetime
    engagement: int
    score: float
    is_repost: bool


def _insert_new(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    keys: list[str],
    returning: Sequence[str],
) -> list[Row[Any]]:
    """Insert rows, skipping those whose `keys` exist; return `returning` of the new ones.

    On SQLite, one cached `INSERT ... ON CONFLICT DO NOTHING RETURNING` run as an
    executemany: SQLAlchemy batches it into multi-row statements ("insertmanyvalues")
    without recompiling per chunk. RETURNING counts new rows exactly, where the
    driver's rowcount cannot (psycopg reports -1 for these statements).
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(
            f"database {dialect!r} is not supported; use SQLite or PostgreSQL"
        )
    params: list[dict[str, Any]] | dict[str, list[Any]] = rows
    if dialect == "postgresql":
        insert, params = _unnest(table, rows)
    else:
        insert = sqlite_insert(table)
    statement = insert.on_conflict_do_nothing(index_elements=keys).returning(
        *(table.c[name] for name in returning)
    )
    return list(session.connection().execute(statement, params))


def _unnest(table: Any, rows: list[dict[str, Any]]) -> tuple[Any, dict[str, list[Any]]]:
    """PostgreSQL: one array parameter per column, unnested into rows by the server.

    The statement text stays short and the same for any number of rows, so neither
    SQLAlchemy nor psycopg re-parse a long multi-row VALUES list at every page.
    """
    names = list(rows[0])
    arrays = [func.unnest(bindparam(f"a_{n}", type_=ARRAY(table.c[n].type))) for n in names]
    params = {f"a_{name}": [row[name] for row in rows] for name in names}
    return pg_insert(table).from_select(names, select(*arrays)), params


def _insert_ignoring_conflicts(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: list[str]
) -> int:
    """Insert rows, skipping those whose `keys` exist; return how many were inserted."""
    return len(_insert_new(session, table, rows, keys, keys))


def stored_keys(session: Session, mentions: Sequence[Mention]) -> dict[tuple[str, str], int]:
    """Ids of the given mentions that are already stored, by (source, external id)."""
    found: dict[tuple[str, str], int] = {}
    by_source: dict[str, list[str]] = {}
    for mention in mentions:
        by_source.setdefault(mention.source, []).append(mention.external_id)
    connection = session.connection()
    for source, ids in by_source.items():
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), LOOKUP_CHUNK):
            rows = connection.execute(
                _LOOKUP, {"source": source, "ids": unique[start : start + LOOKUP_CHUNK]}
            )
            found.update({(source, external_id): id_ for id_, external_id in rows})
    return found


def store_mentions(
    session: Session,
    brand: str,
    mentions: Sequence[Mention],
    sentiments: Mapping[tuple[str, str], Sentiment] | None,
    touchpoints: Mapping[tuple[str, str], Sequence[str]] | None = None,
    new_ids: list[int] | None = None,
) -> int:
    """Store the mentions that `sentiments` scores and link all `mentions` to `brand`.

    `sentiments=None` stores every mention as `pending`, to be scored later. `touchpoints`
    tags new mentions; the ids of newly stored mentions are appended to `new_ids`.
    Returns how many brand links are new. Runs inside the caller's transaction.
    """
    now = utcnow()
    rows = [
        _mention_row(m, None if sentiments is None else sentiments[m.key], now)
        for m in mentions
        if sentiments is None or m.key in sentiments
    ]
    new = _insert_new(session, MentionRow.__table__, rows, ["source", "external_id"], _MENTION_KEY)
    ids = {(row.source, row.external_id): row.id for row in new}
    if new_ids is not None:
        new_ids.extend(ids.values())
    # Only mentions stored earlier (or by a concurrent writer) need a lookup.
    ids.update(stored_keys(session, [m for m in mentions if m.key not in ids]))
    tags = [
        {"mention_id": ids[key], "touchpoint": touchpoint}
        for key, found in (touchpoints or {}).items()
        if key in ids
        for touchpoint in found
    ]
    _insert_ignoring_conflicts(
        session, MentionTouchpointRow.__table__, tags, ["mention_id", "touchpoint"]
    )
    links = [
        {"mention_id": ids[m.key], "brand": brand, "created_ts": int(m.created_at.timestamp())}
        for m in mentions
    ]
    return _insert_ignoring_conflicts(
        session, MentionBrandRow.__table__, links, ["mention_id", "brand"]
    )


def _mention_row(mention: Mention, sentiment: Sentiment | None, now: datetime) -> dict[str, Any]:
    row = {name: getattr(mention, name) for name in Mention.__dataclass_fields__}
    row["collected_at"] = now
    if sentiment is None:
        row.update(
            sentiment_label=PENDING,
            sentiment_score=0.0,
            sentiment_confidence=0.0,
            sentiment_engine="",
            scored_at=None,
        )
        return row
    row.update(sentiment_columns(sentiment, now))
    row["lang"] = mention.lang or sentiment.lang
    return row


def sentiment_columns(sentiment: Sentiment, now: datetime) -> dict[str, Any]:
    """The mention columns that hold a score."""
    return {
        "sentiment_label": sentiment.label,
        "sentiment_score": sentiment.score,
        "sentiment_confidence": sentiment.confidence,
        "sentiment_engine": sentiment.engine,
        "scored_at": now,
    }


def load_cursor(session: Session, brand: str, source: str) -> str | None:
    """The cursor a (brand, source) collection resumes from, if any."""
    row = session.get(CursorRow, (brand, source))
    return row.value if row else None


def save_cursor(session: Session, brand: str, source: str, value: str) -> None:
    """Record the new cursor (in the same transaction as the mentions it produced)."""
    row = session.get(CursorRow, (brand, source))
    if row is None:
        session.add(CursorRow(brand=brand, source=source, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()


def bucket_counts(
    session: Session, brand: str, start: datetime, end: datetime, bucket_seconds: int
) -> dict[int, tuple[int, int]]:
    """(total, negative) per bucket index (epoch seconds // bucket) in [start, end).

    Mentions still waiting for their score are left out of both counts, so the volume and
    the negative share are measured on the same mentions (a burst stored a moment before
    its scores is not a volume spike).
    """
    # Every brand's tick runs this: the statement is built once per bucket size, and run
    # on the Core connection (thousands of plain rows, no ORM loading for each).
    rows = session.connection().execute(
        _bucket_query(bucket_seconds),
        {"brand": brand, "since": int(start.timestamp()), "until": int(end.timestamp())},
    )
    return {int(b): (int(total), int(neg or 0)) for b, total, neg in rows.all()}


@functools.cache
def _bucket_query(bucket_seconds: int) -> Executable:
    """Mentions and negatives per bucket of one brand and span (bound parameters)."""
    bucket = (MentionBrandRow.created_ts // bucket_seconds).label("bucket")
    negative = func.sum(case((MentionRow.sentiment_label == "negative", 1), else_=0))
    return (
        select(bucket, func.count(), negative)
        .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
        .where(
            MentionBrandRow.brand == bindparam("brand"),
            MentionBrandRow.created_ts >= bindparam("since"),
            MentionBrandRow.created_ts < bindparam("until"),
            MentionRow.sentiment_label != PENDING,
        )
        .group_by(bucket)
    )


def negative_count(session: Session, brand: str, start: datetime, end: datetime) -> int:
    """How many negative mentions of `brand` were created in [start, end)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(MentionBrandRow)
            .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
            .where(
                MentionBrandRow.brand == brand,
                MentionBrandRow.created_ts >= int(start.timestamp()),
                MentionBrandRow.created_ts < int(end.timestamp()),
                MentionRow.sentiment_label == "negative",
            )
        )
        or 0
    )


def negatives_between(
    session: Session, brand: str, start: datetime, end: datetime, limit: int = 500
) -> list[StoredMention]:
    """Negative mentions of `brand` in [start, end), most engaging and most negative first."""
    return labelled_between(session, brand, start, end, "negative", limit)


def labelled_between(
    session: Session, brand: str, start: datetime, end: datetime, label: str, limit: int = 500
) -> list[StoredMention]:
    """Mentions of `brand` labelled `label` in [start, end): the most engaging first, then
    the strongest (most negative, or most positive)."""
    engagement = MentionRow.likes + MentionRow.reposts + MentionRow.replies
    strength = (
        MentionRow.sentiment_score if label == "negative" else MentionRow.sentiment_score.desc()
    )
    rows = session.execute(
        select(MentionRow, engagement)
        .join(MentionBrandRow, MentionRow.id == MentionBrandRow.mention_id)
        .where(
            and_(
                MentionBrandRow.brand == brand,
                MentionBrandRow.created_ts >= int(start.timestamp()),
                MentionBrandRow.created_ts < int(end.timestamp()),
                MentionRow.sentiment_label == label,
            )
        )
        .order_by(engagement.desc(), strength, MentionRow.id)
        .limit(limit)
    ).all()
    tags = touchpoints_of(session, [row.id for row, _ in rows])
    return [
        StoredMention(
            id=row.id,
            lang=row.lang,
            touchpoints=tags.get(row.id, ()),
            text=row.text,
            url=row.url,
            source=row.source,
            author=row.author_handle,
            created_at=row.created_at,
            engagement=int(eng or 0),
            score=row.sentiment_score,
            is_repost=row.is_repost,
        )
        for row, eng in rows
    ]


def touchpoints_of(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The touchpoints of each given mention id (ids without any are left out)."""
    found: dict[int, list[str]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(MentionTouchpointRow.mention_id, MentionTouchpointRow.touchpoint)
            .where(MentionTouchpointRow.mention_id.in_(ids[start : start + CHUNK]))
            .order_by(MentionTouchpointRow.mention_id, MentionTouchpointRow.touchpoint)
        )
        for mention_id, touchpoint in rows:
            found.setdefault(mention_id, []).append(touchpoint)
    return {k: tuple(v) for k, v in found.items()}


def remember_theme_members(session: Session, alert_id: int, members: dict[int, str]) -> int:
    """Record the theme (label) of each mention id of an incident; the first one stays."""
    rows = [{"mention_id": m, "alert_id": alert_id, "theme": t[:200]} for m, t in members.items()]
    return _insert_ignoring_conflicts(
        session, MentionThemeRow.__table__, rows, ["mention_id", "alert_id"]
    )


def themes_of(session: Session, alert_id: int) -> dict[str, int]:
    """How many mentions of an incident each theme holds."""
    rows = session.execute(
        select(MentionThemeRow.theme, func.count())
        .where(MentionThemeRow.alert_id == alert_id)
        .group_by(MentionThemeRow.theme)
    )
    return {str(theme): int(count) for theme, count in rows}
