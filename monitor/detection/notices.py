"""What an incident's step tells people: an event per change, or, while it stays open, an
`updated` one when a new complaint theme shows up. Pure but for the tick's window reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.detection.events import Evidence, alert_event, next_sequence
from monitor.detection.incidents import Transition
from monitor.detection.themes import WindowThemes, fresh_themes, window_themes
from monitor.detection.verdicts import Finding
from monitor.kernel.events import AlertEvent, EventKind
from monitor.kernel.records import parse_utc
from monitor.settings import BrandSettings
from monitor.storage.alerts import FIRING, AlertRecord
from monitor.storage.mentions import StoredMention
from monitor.storage.ticks import TickReader

UPDATE_EVERY = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Notice:
    """One incident's events at a tick, and what to write back for them."""

    alert: AlertRecord  # with the details after its events (themes announced, sequence)
    events: tuple[AlertEvent, ...] = ()
    members: dict[int, str] = field(default_factory=dict)  # theme of each mention seen


@dataclass(frozen=True, slots=True)
class Announcer:
    """Tells a brand's incidents' steps at one tick, reading each window through `reader`."""

    brand: BrandSettings
    reader: TickReader
    now: datetime

    def announce(
        self, alert: AlertRecord, finding: Finding, changes: Sequence[Transition]
    ) -> Notice:
        """The events of a stored incident's step: one per change, else perhaps a theme update."""
        if changes:
            return self._changes(alert, finding, changes)
        if alert.status == FIRING:
            return self._theme_update(alert, finding)
        return Notice(alert)

    def _changes(
        self, alert: AlertRecord, finding: Finding, changes: Sequence[Transition]
    ) -> Notice:
        events: list[AlertEvent] = []
        members: dict[int, str] = {}
        for kind in changes:
            window: Sequence[StoredMention] = ()
            themes, total = WindowThemes(), 0
            if kind == "resolved":  # the whole incident's count, no window to show
                end = alert.resolved_at or self.now
                total = self.reader.negative_total(alert.started_at, end)
            else:
                window = self.reader.negatives(finding.window_start, finding.window_end)
                themes = window_themes(window, self.brand)
            for mention, label in themes.members.items():
                members.setdefault(mention, label)  # a mention keeps the first theme it fell in
            evidence = Evidence(window, themes.summaries, total_negative=total)
            alert, event = self._event(kind, alert, finding, evidence)
            events.append(event)
        return Notice(alert, tuple(events), members)

    def _theme_update(self, alert: AlertRecord, finding: Finding) -> Notice:
        """An `updated` event when a new complaint theme shows up in an open incident."""
        details = alert.details
        last = details.get("last_update_at")
        if last and self.now - parse_utc(last) < UPDATE_EVERY:
            return Notice(alert)
        window = self.reader.negatives(finding.window_start, finding.window_end)
        themes = window_themes(window, self.brand)
        fresh = fresh_themes(themes.summaries, details.get("themes", []))
        if not fresh:
            return Notice(alert, members=themes.members)
        alert = replace(alert, details={**details, "last_update_at": self.now.isoformat()})
        ordered = (*fresh, *(t for t in themes.summaries if t not in fresh))
        evidence = Evidence(window, ordered, new_themes=tuple(t.label for t in fresh))
        alert, event = self._event("updated", alert, finding, evidence)
        return Notice(alert, (event,), themes.members)

    def _event(
        self, kind: EventKind, alert: AlertRecord, finding: Finding, evidence: Evidence
    ) -> tuple[AlertRecord, AlertEvent]:
        """The event, and the alert that remembers its themes and sequence."""
        details = alert.details
        announced = sorted(set(details.get("themes", [])) | {t.label for t in evidence.themes})
        alert = replace(alert, details=next_sequence({**details, "themes": announced}))
        window = (finding.window_start, finding.window_end)
        return alert, alert_event(kind, self.brand, alert, window, finding, evidence)
