"""Scoring mentions stored as `pending`: what the scaled mode's `score` tasks run.

Rows are claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL), so two workers never score
the same mention at once; the update commits with the claim, so a worker killed mid-batch
leaves its rows pending for the next try, and scoring a batch twice changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.runtime import Runtime
from monitor.storage.mentions import PENDING, sentiment_columns
from monitor.storage.schema import MentionBrandRow, MentionRow

logger = logging.getLogger(__name__)


@dataclass
class ScoreReport:
    """What one scoring batch did."""

    scored: int = 0
    seconds: float = 0.0
    brands: set[str] = field(default_factory=set)


def score_pending(rt: Runtime, ids: Sequence[int]) -> ScoreReport:
    """Score the given mentions that are still pending; return which brands they touch."""
    report = ScoreReport()
    if not ids:
        return report
    started = time.perf_counter()
    with rt.sessions.begin() as session:
        rows = session.execute(
            select(MentionRow.id, MentionRow.text, MentionRow.lang)
            .where(MentionRow.id.in_(list(ids)), MentionRow.sentiment_label == PENDING)
            .order_by(MentionRow.id)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return report
        scores = rt.scorer.score([row.text for row in rows])
        now = rt.clock()
        session.execute(
            update(MentionRow),
            [
                {"id": row.id, "lang": row.lang or s.lang, **sentiment_columns(s, now)}
                for row, s in zip(rows, scores, strict=True)
            ],
        )
        report.brands = _brands_of(session, [row.id for row in rows])
        report.scored = len(rows)
    report.seconds = time.perf_counter() - started
    logger.info("scored %d mentions in %.2f s", report.scored, report.seconds)
    return report


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
