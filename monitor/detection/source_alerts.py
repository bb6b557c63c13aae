"""Alerts about the watchers themselves: a source failing for a while, or gone silent.

They go through the normal alert path (alerts table, outbox, Slack) under the rule
`source_down:<source>`, open once, and resolve when the source works again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from monitor.detection.events import Evidence, alert_event, next_sequence
from monitor.kernel.events import AlertEvent
from monitor.settings import BrandSettings
from monitor.storage.alerts import FIRING, RESOLVED, AlertRecord, open_alerts, save_alert
from monitor.storage.outbox import enqueue
from monitor.storage.source_activity import failing, window_counts

logger = logging.getLogger(__name__)

RULE_PREFIX = "source_down:"
BASELINE_DAYS = 7
SILENT_MIN_USUAL = 10  # a window that usually holds this many posts is not quiet by chance


def check_sources(
    session: Session, brand: BrandSettings, notifiers: list[str], now: datetime
) -> list[AlertEvent]:
    """Open or resolve a `source_down` incident for each of the brand's sources."""
    # A replay has no platform to fail.
    rules = {s: f"{RULE_PREFIX}{s}" for s in brand.sources.enabled() if s != "replay"}
    alerts = open_alerts(session, brand.id, list(rules.values()), statuses=(FIRING,))
    events: list[AlertEvent] = []
    for source, rule in rules.items():
        problem = _problem(session, brand, source, now)
        event = _follow(session, brand, rule, alerts.get(rule), problem, now)
        events.extend([event] if event is not None else [])
    for event in events:
        logger.warning("%s: %s %s: %s", brand.id, event.rule, event.kind, event.detail)
        enqueue(session, event, notifiers, now)
    return events


def _follow(
    session: Session,
    brand: BrandSettings,
    rule: str,
    alert: AlertRecord | None,
    problem: str,
    now: datetime,
) -> AlertEvent | None:
    """Open the source's incident on a problem, resolve it when there is none; store it."""
    if problem and alert is None:
        details = next_sequence({"problem": problem})
        new = AlertRecord(None, rule, FIRING, "warning", now, now, None, 0, details)
        alert = save_alert(session, brand.id, new)
        return alert_event("opened", brand, alert, (now, now), evidence=Evidence(detail=problem))
    if problem and alert is not None:
        save_alert(session, brand.id, replace(alert, last_firing_at=now))
    elif alert is not None:
        details = next_sequence(alert.details)
        resolved = replace(alert, status=RESOLVED, resolved_at=now, details=details)
        alert = save_alert(session, brand.id, resolved)
        return alert_event("resolved", brand, alert, (alert.started_at, now))
    return None


def _problem(session: Session, brand: BrandSettings, source: str, now: datetime) -> str:
    """Why the source needs a person, in one sentence; empty if it is fine."""
    settings = brand.detector
    trouble = failing(session, brand.id, source)
    down_after = timedelta(minutes=settings.source_down_minutes)
    if trouble is not None and now - trouble.since >= down_after:
        minutes = int((now - trouble.since).total_seconds() // 60)
        return (
            f"{source} has failed for {minutes} min ({trouble.failures} tries); "
            f"last error: {trouble.last_error or 'unknown'}"
        )
    hours = settings.source_silence_hours
    if not hours:
        return ""
    current, usual = window_counts(session, brand.id, source, now, hours, BASELINE_DAYS)
    if current == 0 and usual >= SILENT_MIN_USUAL:
        return (
            f"no mentions from {source} in the last {hours} h, usually {usual:.0f} at this "
            "time of day: check its credentials, query and the platform's status"
        )
    return ""
