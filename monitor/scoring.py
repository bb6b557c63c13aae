"""Scoring mentions stored as `pending`: what the scaled mode's `score` tasks run.

Rows are claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL), so two workers never score
the same mention at once; the update commits with the claim, so a worker killed mid-batch
leaves its rows pending for the next try, and scoring a batch twice changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import Row, delete, select, update
from sqlalchemy.orm import Session

from models.sentiment import Sentiment
from monitor.kernel.records import Mention
from monitor.runtime import Runtime
from monitor.storage.mentions import PENDING, sentiment_columns
from monitor.storage.quarantine import SCORE, isolate, one_line, quarantine, reject
from monitor.storage.schema import MentionBrandRow, MentionRow

logger = logging.getLogger(__name__)


@dataclass
class ScoreReport:
    """What one scoring batch did."""

    scored: int = 0
    seconds: float = 0.0
    brands: set[str] = field(default_factory=set)


def score_pending(rt: Runtime, ids: Sequence[int]) -> ScoreReport:
    """Score the given mentions that are still pending; return which brands they touch.

    A mention the engine fails on alone moves to the quarantine (one row per brand it
    is about), so the rest of the batch is scored and it is not handed out again.
    """
    report = ScoreReport()
    if not ids:
        return report
    started = time.perf_counter()
    with rt.sessions.begin() as session:
        rows = list(
            session.execute(
                select(MentionRow.id, MentionRow.text, MentionRow.lang)
                .where(MentionRow.id.in_(list(ids)), MentionRow.sentiment_label == PENDING)
                .order_by(MentionRow.id)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return report

        def score(batch: list[Row[int, str, str | None]]) -> list[Sentiment]:
            return rt.scorer.score([row.text for row in batch])

        done, failed = isolate(score, rows)
        now = rt.clock()
        if done:
            session.execute(
                update(MentionRow),
                [
                    {"id": row.id, "lang": row.lang or s.lang, **sentiment_columns(s, now)}
                    for row, s in done
                ],
            )
        report.brands = _brands_of(session, [row.id for row in rows])
        _set_aside(session, {row.id: exc for row, exc in failed}, now)
        report.scored = len(done)
    report.seconds = time.perf_counter() - started
    logger.info("scored %d mentions in %.2f s", report.scored, report.seconds)
    return report


def _set_aside(session: Session, errors: dict[int, Exception], now: datetime) -> None:
    """Move mentions the engine failed on from `mentions` to the quarantine."""
    if not errors:
        return
    ids = list(errors)
    mentions = {
        row.id: _as_mention(row)
        for row in session.scalars(select(MentionRow).where(MentionRow.id.in_(ids)))
    }
    links = session.execute(
        select(MentionBrandRow.mention_id, MentionBrandRow.brand).where(
            MentionBrandRow.mention_id.in_(ids)
        )
    ).all()
    for mention_id, brand in links:
        quarantine(session, brand, [reject(mentions[mention_id], SCORE, errors[mention_id])], now)
    session.execute(delete(MentionRow).where(MentionRow.id.in_(ids)))
    logger.warning(
        "%d mention(s) the engine failed on moved to the quarantine, e.g. %s "
        "(pulso quarantine lists them)",
        len(ids),
        one_line(errors[ids[0]]),
    )


def _as_mention(row: MentionRow) -> Mention:
    """The Mention a stored row holds."""
    return Mention(**{f.name: getattr(row, f.name) for f in fields(Mention)})


def pending_ids(session: Session, collected_before: datetime, limit: int) -> list[int]:
    """Pending mentions stored before `collected_before`: those whose score job was lost."""
    return list(
        session.scalars(
            select(MentionRow.id)
            .where(
                MentionRow.sentiment_label == PENDING,
                MentionRow.collected_at < collected_before,
            )
            .order_by(MentionRow.id)
            .limit(limit)
        )
    )


def _brands_of(session: Session, ids: list[int]) -> set[str]:
    return set(
        session.scalars(
            select(MentionBrandRow.brand).where(MentionBrandRow.mention_id.in_(ids)).distinct()
        )
    )
