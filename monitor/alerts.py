"""Alert lifecycle per brand and rule: open, escalate, resolve; each change goes to the outbox."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.themes import MIN_ITEMS, OTHER_LABEL, ThemeInput, build_themes
from monitor.detection import Detector, Finding
from monitor.events import AlertEvent, EventKind, Example, ThemeSummary
from monitor.outbox import enqueue
from monitor.schema import AlertRow
from monitor.settings import BrandSettings
from monitor.store import StoredMention, bucket_counts, negatives_between

logger = logging.getLogger(__name__)

FIRING, RESOLVED = "firing", "resolved"
EXAMPLES = 3
THEMES = 3


def detect_brand(
    session: Session,
    brand: BrandSettings,
    detector: Detector,
    notifiers: list[str],
    now: datetime,
) -> list[AlertEvent]:
    """Evaluate one brand at `now`, update its incident and queue what changed."""
    bucket = brand.detector.bucket_minutes * 60
    counts = bucket_counts(
        session, brand.id, now - detector.lookback(), now + timedelta(seconds=bucket), bucket
    )
    finding = detector.evaluate(counts, now)
    logger.debug("%s %s: %s", brand.id, detector.rule, finding.reason)
    alert = session.scalar(
        select(AlertRow).where(
            AlertRow.brand == brand.id, AlertRow.rule == detector.rule, AlertRow.status == FIRING
        )
    )
    events: list[AlertEvent] = []
    if finding.firing and alert is None:
        alert = _open(session, brand, finding, now)
        events.append(_event("opened", session, brand, alert, finding))
    elif finding.firing and alert is not None:
        alert.last_firing_at = now
        alert.peak_negative = max(alert.peak_negative, finding.observed_negative)
        if finding.severity == "critical" and alert.severity != "critical":
            alert.severity = "critical"
            events.append(_event("escalated", session, brand, alert, finding))
    elif alert is not None and now - alert.last_firing_at >= _resolve_after(brand):
        alert.status, alert.resolved_at = RESOLVED, now
        events.append(_event("resolved", session, brand, alert, finding))
    for event in events:
        logger.info("alert #%d %s for %s (%s)", event.alert_id, event.kind, brand.id, event.rule)
        enqueue(session, event, notifiers, now)
    return events


def _resolve_after(brand: BrandSettings) -> timedelta:
    return timedelta(minutes=brand.detector.resolve_after_minutes)


def _open(session: Session, brand: BrandSettings, finding: Finding, now: datetime) -> AlertRow:
    alert = AlertRow(
        brand=brand.id,
        rule=finding.rule,
        status=FIRING,
        severity=finding.severity or "warning",
        started_at=finding.window_start,
        last_firing_at=now,
        resolved_at=None,
        peak_negative=finding.observed_negative,
        details={k: str(v) if isinstance(v, datetime) else v for k, v in asdict(finding).items()},
    )
    session.add(alert)
    session.flush()
    return alert


def _event(
    kind: EventKind, session: Session, brand: BrandSettings, alert: AlertRow, finding: Finding
) -> AlertEvent:
    window: list[StoredMention] = []
    total_negative = 0
    if kind == "resolved":
        end = alert.resolved_at or finding.window_end
        counts = bucket_counts(session, brand.id, alert.started_at, end, 60)
        total_negative = sum(negative for _, negative in counts.values())
    else:
        window = negatives_between(session, brand.id, finding.window_start, finding.window_end)
    return AlertEvent(
        kind=kind,
        alert_id=alert.id,
        brand=brand.id,
        brand_name=brand.name,
        rule=alert.rule,
        severity="critical" if alert.severity == "critical" else "warning",
        started_at=alert.started_at.isoformat(),
        window_start=finding.window_start.isoformat(),
        window_end=finding.window_end.isoformat(),
        observed_negative=finding.observed_negative,
        expected_negative=finding.expected_negative,
        observed_total=finding.observed_total,
        expected_total=finding.expected_total,
        negative_share=finding.negative_share,
        usual_share=finding.usual_share,
        z=finding.z,
        examples=tuple(_examples(window)),
        sources=dict(Counter(m.source for m in window)),
        touchpoints=dict(Counter(t for m in window for t in m.touchpoints)),
        themes=_themes(window, brand),
        peak_negative=alert.peak_negative,
        total_negative=total_negative,
        resolved_at=alert.resolved_at.isoformat() if alert.resolved_at else None,
    )


def _themes(window: list[StoredMention], brand: BrandSettings) -> tuple[ThemeSummary, ...]:
    """The window's complaints grouped into a few labelled themes (not "other")."""
    if len(window) < MIN_ITEMS:
        return ()
    items = [
        ThemeInput(
            id=str(m.id),
            text=m.text,
            label="negative",
            lang=m.lang,
            engagement=m.engagement,
            touchpoints=m.touchpoints,
            url=m.url,
        )
        for m in window
    ]
    by_id = {str(m.id): m for m in window}
    themes = build_themes(items, max_themes=4, examples=2, ignore_terms=brand.keywords)
    return tuple(
        ThemeSummary(
            label=theme.label,
            size=theme.size,
            examples=tuple(_example(by_id[e.id]) for e in theme.examples),
        )
        for theme in themes[:THEMES]
        if theme.label != OTHER_LABEL
    )


def _example(mention: StoredMention) -> Example:
    return Example(
        text=mention.text,
        url=mention.url,
        source=mention.source,
        author=mention.author,
        created_at=mention.created_at.isoformat(),
    )


def _examples(window: list[StoredMention]) -> list[Example]:
    picked: list[Example] = []
    seen: set[str] = set()
    for mention in window:
        key = " ".join(mention.text.casefold().split())
        if mention.is_repost or key in seen:
            continue
        seen.add(key)
        picked.append(_example(mention))
        if len(picked) == EXAMPLES:
            break
    return picked
