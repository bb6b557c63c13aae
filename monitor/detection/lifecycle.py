"""Alert lifecycle per brand and rule: open, escalate, resolve; each change goes to the outbox."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.themes import MIN_ITEMS, OTHER_LABEL, Theme, ThemeInput, build_themes
from monitor.detection.incidents import Incident, step
from monitor.detection.rules import Finding, Series, SpikeRule
from monitor.kernel.events import AlertEvent, EventKind, Example, ThemeSummary
from monitor.kernel.records import parse_utc
from monitor.settings import BrandSettings
from monitor.storage.mentions import (
    StoredMention,
    bucket_counts,
    negatives_between,
    remember_theme_members,
)
from monitor.storage.outbox import enqueue
from monitor.storage.schema import AlertRow

logger = logging.getLogger(__name__)

PENDING, FIRING, RESOLVED = "pending", "firing", "resolved"
EXAMPLES = 3
THEMES = 3
NEW_THEME_MIN = 5
UPDATE_EVERY = timedelta(minutes=15)
THEME_SEPARATOR = "·"


def detect_brand(
    session: Session,
    brand: BrandSettings,
    rules: list[SpikeRule],
    notifiers: list[str],
    now: datetime,
) -> list[AlertEvent]:
    """Evaluate every rule of one brand at `now`, update its incidents, queue what changed."""
    if not rules:
        return []
    bucket = rules[0].bucket
    lookback = max(rule.lookback() for rule in rules)
    first = int((now - lookback).timestamp()) // bucket
    last = int((now - timedelta(microseconds=1)).timestamp()) // bucket
    counts = bucket_counts(
        session,
        brand.id,
        datetime.fromtimestamp(first * bucket, UTC),
        datetime.fromtimestamp((last + 1) * bucket, UTC),
        bucket,
    )
    series = Series.from_counts(counts, first, last, bucket)
    events: list[AlertEvent] = []
    negative_open = False
    for rule in rules:  # negative_spike first: one incident per brand
        finding = rule.finding(series, now)
        logger.debug("%s %s: %s", brand.id, rule.rule, finding.reason)
        hold = rule.rule == "volume_spike" and negative_open
        events.extend(_advance(session, brand, rule.rule, finding, now, hold))
        if rule.rule == "negative_spike":
            negative_open = _open_incident(session, brand.id, rule.rule) is not None
    for event in events:
        logger.info("alert #%d %s for %s (%s)", event.alert_id, event.kind, brand.id, event.rule)
        enqueue(session, event, notifiers, now)
    return events


def _open_incident(session: Session, brand: str, rule: str) -> AlertRow | None:
    return session.scalar(
        select(AlertRow).where(
            AlertRow.brand == brand,
            AlertRow.rule == rule,
            AlertRow.status.in_((PENDING, FIRING)),
        )
    )


def _advance(
    session: Session,
    brand: BrandSettings,
    rule: str,
    finding: Finding,
    now: datetime,
    hold: bool = False,
) -> list[AlertEvent]:
    """Step one rule's incident; `hold` keeps a new one from opening (as a silence does)."""
    row = _open_incident(session, brand.id, rule)
    before = _incident(row) if row is not None else None
    silenced = hold or brand.silenced(rule, now)
    incident, changes = step(before, finding, now, brand.detector, silenced)
    if incident is None:
        if row is not None and row.status == PENDING:
            session.delete(row)  # a burst that faded before it was confirmed: never notified
        return []
    if row is None:
        row = AlertRow(brand=brand.id, rule=rule, details={})
        session.add(row)
    _store(row, incident)
    if "opened" in changes:  # what it looked like when it fired, for the record
        row.details = {**(row.details or {}), **_numbers(finding)}
    session.flush()
    events = [_event(kind, session, brand, row, finding, now) for kind in changes]
    if not changes and incident.status == FIRING:
        update = _theme_update(session, brand, row, finding, now)
        events.extend([update] if update else [])
    return events


def _incident(row: AlertRow) -> Incident:
    d = row.details or {}
    return Incident(
        rule=row.rule,
        status="pending" if row.status == PENDING else "firing",
        severity="critical" if row.severity == "critical" else "warning",
        started_at=_aware(row.started_at),
        pending_since=parse_utc(d.get("pending_since") or row.started_at.isoformat()),
        last_elevated_at=_aware(row.last_firing_at),
        peak=float(d.get("peak", row.peak_negative)),
        peak_z=float(d.get("peak_z", 0.0)),
        opened_at=parse_utc(d["opened_at"]) if d.get("opened_at") else None,
        baseline=float(d.get("baseline", 0.0)),
    )


def _store(row: AlertRow, incident: Incident) -> None:
    row.status = incident.status
    row.severity = incident.severity
    row.started_at = incident.started_at
    row.last_firing_at = incident.last_elevated_at
    row.resolved_at = incident.resolved_at
    row.peak_negative = round(incident.peak)
    row.details = {
        **(row.details or {}),
        "pending_since": incident.pending_since.isoformat(),
        "opened_at": incident.opened_at.isoformat() if incident.opened_at else None,
        "peak": incident.peak,
        "peak_z": round(incident.peak_z, 3),
        "baseline": incident.baseline,
    }


def _numbers(finding: Finding) -> dict[str, object]:
    return {
        "observed": finding.observed,
        "expected": finding.expected,
        "observed_negative": finding.observed_negative,
        "observed_total": finding.observed_total,
        "expected_negative": finding.expected_negative,
        "expected_total": finding.expected_total,
        "negative_share": round(finding.negative_share, 4),
        "usual_share": round(finding.usual_share, 4),
        "z": round(finding.z, 3),
        "reason": finding.reason,
        "window_start": finding.window_start.isoformat(),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _next_sequence(row: AlertRow) -> int:
    sequence = int((row.details or {}).get("sequence", -1)) + 1
    row.details = {**(row.details or {}), "sequence": sequence}
    return sequence


def _theme_update(
    session: Session, brand: BrandSettings, row: AlertRow, finding: Finding, now: datetime
) -> AlertEvent | None:
    """An `updated` event when a new complaint theme shows up in an open incident."""
    details = row.details or {}
    last = details.get("last_update_at")
    if last and now - parse_utc(last) < UPDATE_EVERY:
        return None
    window = negatives_between(session, brand.id, finding.window_start, finding.window_end)
    themes = themes_of(window, brand, session, row.id)
    known = {word for label in details.get("themes", []) for word in _words(label)}
    # New means no keyword in common with what was announced: labels drift as the window
    # moves ("parcel · lost" → "parcel · missing"), a new complaint does not overlap.
    fresh = [t for t in themes if t.size >= NEW_THEME_MIN and not _words(t.label) & known]
    if not fresh:
        return None
    row.details = {**details, "last_update_at": now.isoformat()}
    ordered = (*fresh, *(t for t in themes if t not in fresh))
    event = _event("updated", session, brand, row, finding, now, window=window, themes=ordered)
    return replace(event, new_themes=tuple(t.label for t in fresh))


def _words(label: str) -> set[str]:
    return {word.strip().casefold() for word in label.split(THEME_SEPARATOR) if word.strip()}


def _event(
    kind: EventKind,
    session: Session,
    brand: BrandSettings,
    alert: AlertRow,
    finding: Finding,
    now: datetime,
    window: list[StoredMention] | None = None,
    themes: tuple[ThemeSummary, ...] | None = None,
) -> AlertEvent:
    total_negative = 0
    if kind == "resolved":
        window = []
        end = alert.resolved_at or now
        counts = bucket_counts(session, brand.id, _aware(alert.started_at), _aware(end), 60)
        total_negative = sum(negative for _, negative in counts.values())
    elif window is None:
        window = negatives_between(session, brand.id, finding.window_start, finding.window_end)
    if themes is None:
        themes = themes_of(window, brand, session, alert.id)
    details = alert.details or {}
    announced = sorted(set(details.get("themes", [])) | {t.label for t in themes})
    alert.details = {**details, "themes": announced}
    sequence = _next_sequence(alert)
    return AlertEvent(
        kind=kind,
        alert_id=alert.id,
        brand=brand.id,
        brand_name=brand.name,
        rule=alert.rule,
        severity="critical" if alert.severity == "critical" else "warning",
        started_at=_aware(alert.started_at).isoformat(),
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
        themes=themes,
        peak_negative=alert.peak_negative,
        total_negative=total_negative,
        resolved_at=_aware(alert.resolved_at).isoformat() if alert.resolved_at else None,
        sequence=sequence,
    )


def themes_of(
    window: list[StoredMention],
    brand: BrandSettings,
    session: Session | None = None,
    alert_id: int | None = None,
) -> tuple[ThemeSummary, ...]:
    """The window's complaints grouped into a few labelled themes (not "other").

    Reposts are left out: they repeat a complaint (it counts once) and are never shown.
    """
    window = [m for m in window if not m.is_repost]
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
    if session is not None and alert_id is not None:
        remember_themes(session, alert_id, themes)
    return tuple(
        ThemeSummary(
            label=theme.label,
            size=theme.size,
            examples=tuple(_example(by_id[e.id]) for e in theme.examples),
        )
        for theme in themes[:THEMES]
        if theme.label != OTHER_LABEL
    )


def remember_themes(session: Session, alert_id: int, themes: list[Theme]) -> None:
    """Store which named theme each mention fell in ("other" is not a theme)."""
    members = {
        int(member): theme.label
        for theme in themes
        if theme.label != OTHER_LABEL
        for member in theme.member_ids
    }
    remember_theme_members(session, alert_id, members)


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
