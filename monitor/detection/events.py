"""The one place an `AlertEvent` is made, for spike incidents and source alerts alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.detection.verdicts import Finding
from monitor.kernel.events import AlertEvent, EventKind, Example, ThemeSummary
from monitor.settings import BrandSettings
from monitor.storage.alerts import AlertRecord
from monitor.storage.mentions import StoredMention

EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an event shows besides its counts: the window's posts and themes, or words."""

    mentions: Sequence[StoredMention] = ()
    themes: tuple[ThemeSummary, ...] = ()
    new_themes: tuple[str, ...] = ()  # `updated`: the labels that just appeared
    total_negative: int = 0  # `resolved`: negatives over the incident's whole life
    detail: str = ""  # rules without counts (source_down:<source>) say why in words


@dataclass(frozen=True, slots=True)
class NoCounts:
    """The counts of a rule that has none (source_down): zeros, typed as a finding's."""

    observed_negative: int = 0
    expected_negative: float = 0.0
    observed_total: int = 0
    expected_total: float = 0.0
    negative_share: float = 0.0
    usual_share: float = 0.0
    z: float = 0.0
    calibration: str = ""


NO_EVIDENCE = Evidence()
NO_COUNTS = NoCounts()


def alert_event(
    kind: EventKind,
    brand: BrandSettings,
    alert: AlertRecord,
    window: tuple[datetime, datetime],
    counts: Finding | NoCounts = NO_COUNTS,
    evidence: Evidence = NO_EVIDENCE,
) -> AlertEvent:
    """The event of a stored alert: its row, the window judged, the counts and what it shows.

    The event's sequence is the one its row's details hold (see `next_sequence`).
    """
    mentions = evidence.mentions
    return AlertEvent(
        kind=kind,
        alert_id=alert.stored_id,
        brand=brand.id,
        brand_name=brand.name,
        rule=alert.rule,
        severity="critical" if alert.severity == "critical" else "warning",
        started_at=alert.started_at.isoformat(),
        window_start=window[0].isoformat(),
        window_end=window[1].isoformat(),
        observed_negative=counts.observed_negative,
        expected_negative=counts.expected_negative,
        observed_total=counts.observed_total,
        expected_total=counts.expected_total,
        negative_share=counts.negative_share,
        usual_share=counts.usual_share,
        z=counts.z,
        examples=tuple(_examples(mentions)),
        sources=dict(Counter(m.source for m in mentions)),
        touchpoints=dict(Counter(t for m in mentions for t in m.touchpoints)),
        themes=evidence.themes,
        peak_negative=alert.peak_negative,
        total_negative=evidence.total_negative,
        resolved_at=alert.resolved_at.isoformat() if alert.resolved_at else None,
        sequence=int(alert.details["sequence"]),
        new_themes=evidence.new_themes,
        detail=evidence.detail,
        calibration=counts.calibration,
    )


def next_sequence(details: Mapping[str, Any]) -> dict[str, Any]:
    """`details` with the sequence of the alert's next event (0 for its first)."""
    return {**details, "sequence": int(details.get("sequence", -1)) + 1}


def example(mention: StoredMention) -> Example:
    """A stored mention as an event shows it."""
    return Example(
        text=mention.text,
        url=mention.url,
        source=mention.source,
        author=mention.author,
        created_at=mention.created_at.isoformat(),
    )


def _examples(window: Sequence[StoredMention]) -> list[Example]:
    """The first few distinct originals (a repost or a copied text is shown once at most)."""
    picked: list[Example] = []
    seen: set[str] = set()
    for mention in window:
        key = " ".join(mention.text.casefold().split())
        if mention.is_repost or key in seen:
            continue
        seen.add(key)
        picked.append(example(mention))
        if len(picked) == EXAMPLES:
            break
    return picked
