"""Alert lifecycle per brand and rule: open, escalate, resolve; each change goes to the outbox.

One tick of one brand, in order:
1. read: its bucket counts and its open incidents, one query each (`load_tick`);
2. judge and step (pure): every rule judges the series, its incident steps
   (`incidents.step`); a `volume_spike` is held back while a negative one is open;
3. write the incident rows (a new incident needs its id before its event);
4. tell (`notices.Announcer`): an event per change, or a theme update, each window's
   complaints read once per tick and shared by every event that shows them;
5. write what the events leave behind: details, theme members, the outbox rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from monitor.detection.incidents import Incident, Transition, step
from monitor.detection.notices import Announcer, Notice
from monitor.detection.rules import SpikeRule
from monitor.detection.series import Series
from monitor.detection.verdicts import Finding
from monitor.kernel.events import AlertEvent
from monitor.kernel.records import parse_utc
from monitor.settings import BrandSettings
from monitor.storage.alerts import PENDING, AlertRecord, drop_alert, save_alert, save_details
from monitor.storage.mentions import remember_theme_members
from monitor.storage.outbox import enqueue
from monitor.storage.ticks import TickReader, load_tick

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Move:
    """One rule at one tick: its finding, the open incident before, the incident after."""

    finding: Finding
    before: AlertRecord | None
    incident: Incident | None  # None: nothing is going on
    changes: tuple[Transition, ...]


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
    series, alerts = _read(session, brand.id, rules, now)
    moves = step_rules(brand, rules, series, alerts, now)
    stored = [_save_incident(session, brand.id, move) for move in moves]
    announcer = Announcer(brand, TickReader(session, brand.id), now)
    notices = [
        announcer.announce(alert, move.finding, move.changes)
        for move, alert in zip(moves, stored, strict=True)
        if alert is not None
    ]
    return _record(session, brand.id, notices, notifiers, now)


def _read(
    session: Session, brand: str, rules: Sequence[SpikeRule], now: datetime
) -> tuple[Series, dict[str, AlertRecord]]:
    """The bucket series over the rules' lookback and the brand's open incidents by rule."""
    bucket = rules[0].bucket
    lookback = max(rule.lookback() for rule in rules)
    first = int((now - lookback).timestamp()) // bucket
    last = int((now - timedelta(microseconds=1)).timestamp()) // bucket
    start = datetime.fromtimestamp(first * bucket, UTC)
    end = datetime.fromtimestamp((last + 1) * bucket, UTC)
    tick = load_tick(session, brand, [rule.rule for rule in rules], start, end, bucket)
    return Series.from_counts(tick.counts, first, last, bucket), tick.alerts


def step_rules(
    brand: BrandSettings,
    rules: Sequence[SpikeRule],
    series: Series,
    alerts: Mapping[str, AlertRecord],
    now: datetime,
) -> list[Move]:
    """Judge every rule and step its incident, negative_spike first: one incident per brand."""
    moves: list[Move] = []
    negative_open = False
    for rule in rules:
        finding = rule.finding(series, now)
        logger.debug("%s %s: %s", brand.id, rule.rule, finding.reason)
        before = alerts.get(rule.rule)
        # The hold keeps a volume incident from opening, as a silence does.
        silenced = (rule.rule == "volume_spike" and negative_open) or brand.silenced(rule.rule, now)
        start = incident_of(before) if before is not None else None
        incident, changes = step(start, finding, now, brand.detector, silenced)
        moves.append(Move(finding, before, incident, tuple(changes)))
        if rule.rule == "negative_spike":
            negative_open = incident is not None and incident.status != "resolved"
    return moves


def incident_of(alert: AlertRecord) -> Incident:
    """The state machine's view of a stored open incident."""
    d = alert.details
    return Incident(
        rule=alert.rule,
        status="pending" if alert.status == PENDING else "firing",
        severity="critical" if alert.severity == "critical" else "warning",
        started_at=alert.started_at,
        pending_since=parse_utc(d.get("pending_since") or alert.started_at.isoformat()),
        last_elevated_at=alert.last_firing_at,
        peak=float(d.get("peak", alert.peak_negative)),
        peak_z=float(d.get("peak_z", 0.0)),
        opened_at=parse_utc(d["opened_at"]) if d.get("opened_at") else None,
        baseline=float(d.get("baseline", 0.0)),
    )


def record_of(incident: Incident, before: AlertRecord | None) -> AlertRecord:
    """The alert row of `incident`, keeping what `before` noted in its details."""
    details: dict[str, Any] = {
        **(before.details if before is not None else {}),
        "pending_since": incident.pending_since.isoformat(),
        "opened_at": incident.opened_at.isoformat() if incident.opened_at else None,
        "peak": incident.peak,
        "peak_z": round(incident.peak_z, 3),
        "baseline": incident.baseline,
    }
    return AlertRecord(
        id=before.id if before is not None else None,
        rule=incident.rule,
        status=incident.status,
        severity=incident.severity,
        started_at=incident.started_at,
        last_firing_at=incident.last_elevated_at,
        resolved_at=incident.resolved_at,
        peak_negative=round(incident.peak),
        details=details,
    )


def finding_numbers(finding: Finding) -> dict[str, object]:
    """What a finding measured, as an incident's details keep it."""
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


def _save_incident(session: Session, brand: str, move: Move) -> AlertRecord | None:
    """Write one rule's incident row; None when nothing is open (a faded burst is dropped)."""
    before = move.before
    if move.incident is None:
        if before is not None and before.status == PENDING:
            drop_alert(session, before.stored_id)  # never confirmed, so never notified
        return None
    alert = record_of(move.incident, before)
    if "opened" in move.changes:  # what it looked like when it fired, for the record
        alert = replace(alert, details={**alert.details, **finding_numbers(move.finding)})
    return save_alert(session, brand, alert)


def _record(
    session: Session, brand: str, notices: Sequence[Notice], notifiers: list[str], now: datetime
) -> list[AlertEvent]:
    """Write what the events leave behind and queue them, in rule order."""
    events: list[AlertEvent] = []
    for notice in notices:
        alert_id = notice.alert.stored_id
        remember_theme_members(session, alert_id, notice.members)
        if notice.events:
            save_details(session, alert_id, notice.alert.details)
        events.extend(notice.events)
    for event in events:
        logger.info("alert #%d %s for %s (%s)", event.alert_id, event.kind, brand, event.rule)
        enqueue(session, event, notifiers, now)
    return events
