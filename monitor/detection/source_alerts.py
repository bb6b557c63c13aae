"""Alerts about the watchers themselves: a source failing for a while, or gone silent.

They go through the normal alert path (alerts table, outbox, Slack) under the rule
`source_down:<source>`, open once, and resolve when the source works again.
"""

from __future__ import annotations

import logging
import statistics
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.kernel.events import AlertEvent, EventKind
from monitor.settings import BrandSettings
from monitor.storage.outbox import enqueue
from monitor.storage.schema import AlertRow, MentionBrandRow, MentionRow, SourceHealthRow

logger = logging.getLogger(__name__)

RULE_PREFIX = "source_down:"
FIRING, RESOLVED = "firing", "resolved"
BASELINE_DAYS = 7
SILENT_MIN_USUAL = 10  # a window that usually holds this many posts is not quiet by chance
DAY = 86_400


def check_sources(
    session: Session, brand: BrandSettings, notifiers: list[str], now: datetime
) -> list[AlertEvent]:
    """Open or resolve a `source_down` incident for each of the brand's sources."""
    events: list[AlertEvent] = []
    for source in brand.sources.enabled():
        if source == "replay":
            continue  # a replay has no platform to fail
        problem = _problem(session, brand, source, now)
        rule = f"{RULE_PREFIX}{source}"
        alert = session.scalar(
            select(AlertRow).where(
                AlertRow.brand == brand.id, AlertRow.rule == rule, AlertRow.status == FIRING
            )
        )
        if problem and alert is None:
            alert = AlertRow(
                brand=brand.id,
                rule=rule,
                status=FIRING,
                severity="warning",
                started_at=now,
                last_firing_at=now,
                resolved_at=None,
                peak_negative=0,
                details={"problem": problem, "sequence": 0},
            )
            session.add(alert)
            session.flush()
            events.append(_event("opened", brand, alert, problem, now))
        elif problem and alert is not None:
            alert.last_firing_at = now
        elif alert is not None:
            alert.status, alert.resolved_at = RESOLVED, now
            sequence = int((alert.details or {}).get("sequence", 0)) + 1
            alert.details = {**(alert.details or {}), "sequence": sequence}
            events.append(_event("resolved", brand, alert, "", now, sequence))
    for event in events:
        logger.warning("%s: %s %s: %s", brand.id, event.rule, event.kind, event.detail)
        enqueue(session, event, notifiers, now)
    return events


def _problem(session: Session, brand: BrandSettings, source: str, now: datetime) -> str:
    """Why the source needs a person, in one sentence; empty if it is fine."""
    settings = brand.detector
    health = session.get(SourceHealthRow, (brand.id, source))
    down_after = timedelta(minutes=settings.source_down_minutes)
    if health is not None and health.failing_since and now - health.failing_since >= down_after:
        minutes = int((now - health.failing_since).total_seconds() // 60)
        return (
            f"{source} has failed for {minutes} min ({health.consecutive_failures} tries); "
            f"last error: {health.last_error or 'unknown'}"
        )
    hours = settings.source_silence_hours
    if not hours:
        return ""
    current, usual = _window_counts(session, brand.id, source, now, hours)
    if current == 0 and usual >= SILENT_MIN_USUAL:
        return (
            f"no mentions from {source} in the last {hours} h, usually {usual:.0f} at this "
            "time of day: check its credentials, query and the platform's status"
        )
    return ""


def _window_counts(
    session: Session, brand: str, source: str, now: datetime, hours: int
) -> tuple[int, float]:
    """Mentions from `source` in the last `hours`, and the median of the same window on
    each of the previous days (days before it collected anything count as missing)."""
    end = int(now.timestamp())
    span = hours * 3600
    age = end - MentionBrandRow.created_ts
    day = age // DAY
    rows = session.execute(
        select(day, func.count())
        .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
        .where(
            MentionBrandRow.brand == brand,
            MentionRow.source == source,
            MentionBrandRow.created_ts > end - (BASELINE_DAYS + 1) * DAY,
            MentionBrandRow.created_ts <= end,
            age % DAY < span,
        )
        .group_by(day)
    )
    counts = {int(d): int(n) for d, n in rows}
    first = session.scalar(
        select(func.min(MentionBrandRow.created_ts))
        .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
        .where(MentionBrandRow.brand == brand, MentionRow.source == source)
    )
    if first is None:
        return 0, 0.0
    days = [d for d in range(1, BASELINE_DAYS + 1) if end - d * DAY - span >= first]
    usual = statistics.median(counts.get(d, 0) for d in days) if days else 0.0
    return counts.get(0, 0), float(usual)


def _event(
    kind: EventKind,
    brand: BrandSettings,
    alert: AlertRow,
    problem: str,
    now: datetime,
    sequence: int = 0,
) -> AlertEvent:
    started = alert.started_at
    return AlertEvent(
        kind=kind,
        alert_id=alert.id,
        brand=brand.id,
        brand_name=brand.name,
        rule=alert.rule,
        severity="warning",
        started_at=started.isoformat(),
        window_start=started.isoformat(),
        window_end=now.isoformat(),
        observed_negative=0,
        expected_negative=0.0,
        observed_total=0,
        expected_total=0.0,
        negative_share=0.0,
        usual_share=0.0,
        z=0.0,
        resolved_at=now.isoformat() if kind == "resolved" else None,
        sequence=sequence,
        detail=problem,
    )
