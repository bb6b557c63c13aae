"""An incident's life as a pure state machine, shared by the daemon and the backtest.

quiet → pending (the rule fires) → open (it stayed elevated for `pending_minutes`) →
resolved (nothing elevated for `resolve_after_minutes`). One incident per brand and
rule: while it is open nothing new is notified except an escalation to critical.
A silence holds back new incidents; one already open is still followed to its end.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from monitor.detection.verdicts import Finding
from monitor.kernel.events import Severity
from monitor.settings import DetectorSettings

Status = Literal["pending", "firing", "resolved"]
Transition = Literal["opened", "escalated", "resolved"]


@dataclass(frozen=True, slots=True)
class Incident:
    """Where one brand's rule stands; the daemon keeps it in the alerts table."""

    rule: str
    status: Status
    severity: Severity
    started_at: datetime
    pending_since: datetime
    last_elevated_at: datetime
    peak: float
    peak_z: float
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    baseline: float = 0.0


def step(
    incident: Incident | None,
    finding: Finding,
    now: datetime,
    settings: DetectorSettings,
    silenced: bool = False,
) -> tuple[Incident | None, list[Transition]]:
    """Advance `incident` with the rule's `finding` at `now`; return it and what changed.

    A returned None means nothing is going on (a pending burst that faded is dropped).
    """
    if incident is None or incident.status == "resolved":
        if not finding.firing or silenced:
            return None, []
        incident = Incident(
            rule=finding.rule,
            status="pending",
            severity=finding.severity or "warning",
            started_at=finding.window_start,
            pending_since=now,
            last_elevated_at=now,
            peak=finding.observed,
            peak_z=finding.z,
            baseline=finding.expected,
        )
    elif incident.status == "pending" and not finding.elevated:
        return None, []
    else:
        incident = _observe(incident, finding, now)
    if incident.status == "pending":
        if now - incident.pending_since < timedelta(minutes=settings.pending_minutes):
            return incident, []
        if silenced:
            return None, []
        return replace(incident, status="firing", opened_at=now), ["opened"]
    if finding.elevated:
        if finding.firing and finding.severity == "critical" and incident.severity != "critical":
            return replace(incident, severity="critical"), ["escalated"]
        return incident, []
    if now - incident.last_elevated_at >= timedelta(minutes=settings.resolve_after_minutes):
        return replace(incident, status="resolved", resolved_at=now), ["resolved"]
    return incident, []


def _observe(incident: Incident, finding: Finding, now: datetime) -> Incident:
    peak = max(incident.peak, finding.observed) if finding.elevated else incident.peak
    peak_z = max(incident.peak_z, finding.z) if finding.elevated else incident.peak_z
    last = now if finding.elevated else incident.last_elevated_at
    severity: Severity = incident.severity
    if incident.status == "pending" and finding.severity == "critical":
        severity = "critical"
    return replace(incident, peak=peak, peak_z=peak_z, last_elevated_at=last, severity=severity)
