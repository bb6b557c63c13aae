"""A brand's incidents over a past span, computed from its stored counts, kept as historical.

A backfill stores past mentions the live detector never judged. This replays the
brand's stored 5-minute buckets through the same rules and incident state machine
(`replay`, the loop `pulso backtest` uses) and stores what it finds as alert rows
marked historical: no outbox rows (never notified), and the live detector never reads
them as open (`open_alerts`), so it can neither update nor resolve them.

Idempotent: the brand's historical incidents that started in the span are replaced.
A found incident that overlaps one already stored for its rule (a live one, or a
historical one from before the span) is left out: that one already tells it. As in the
backtest, an incident still open at the end of the span is kept, as open; a pending
burst that never opened is not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from monitor.detection.lifecycle import finding_numbers, record_of
from monitor.detection.replay import Replayed, Silenced, replay
from monitor.detection.rules import SpikeRule
from monitor.detection.series import Series
from monitor.settings import BrandSettings
from monitor.storage.alerts import AlertRecord, drop_historical, incident_spans, save_alert
from monitor.storage.mentions import bucket_counts

logger = logging.getLogger(__name__)

Span = tuple[datetime, datetime | None]  # started, ended (None: still open)


def record_history(
    session: Session,
    brand: BrandSettings,
    rules: Sequence[SpikeRule],
    start: datetime,
    end: datetime,
) -> list[AlertRecord]:
    """Replace the brand's historical incidents of [start, end) with what its counts show."""
    if not rules or end <= start:
        return []
    series, first = _read(session, brand.id, rules, start, end)
    dropped = drop_historical(session, brand.id, start, end)
    taken = _taken(session, brand.id, [r.rule for r in rules], start, end)
    stored: list[AlertRecord] = []
    holds: list[Span] = []
    for rule in rules:
        found = replay(rule, series, brand.detector, _silence(brand, rule.rule, holds), first)
        if rule.rule == "negative_spike":  # a volume incident is held while one is open
            holds = [(r.incident.pending_since, r.incident.resolved_at) for r in found]
        for item in found:
            if not _overlaps(item, taken.get(rule.rule, [])):
                stored.append(save_alert(session, brand.id, _record(item)))
    logger.info(
        "%s: %d historical incidents from %s to %s (%d replaced)",
        brand.id,
        len(stored),
        start.isoformat(),
        end.isoformat(),
        dropped,
    )
    return stored


def _read(
    session: Session, brand: str, rules: Sequence[SpikeRule], start: datetime, end: datetime
) -> tuple[Series, int]:
    """The whole buckets of [start, end) with the lookback before them; the first to judge."""
    bucket = rules[0].bucket
    lookback = max(rule.lookback() for rule in rules)
    earliest = int((start - lookback).timestamp()) // bucket
    first = -(-int(start.timestamp()) // bucket)  # the first bucket wholly in the span
    last = int(end.timestamp()) // bucket - 1  # the bucket still filling is the live one's
    counts = bucket_counts(
        session,
        brand,
        datetime.fromtimestamp(earliest * bucket, UTC),
        datetime.fromtimestamp((last + 1) * bucket, UTC),
        bucket,
    )
    return Series.from_counts(counts, earliest, last, bucket), first - earliest


def _taken(
    session: Session, brand: str, rules: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[Span]]:
    """The spans of the incidents already stored in [start, end), by rule."""
    taken: dict[str, list[Span]] = {}
    for name, started, resolved in incident_spans(session, brand, rules, start, end):
        taken.setdefault(name, []).append((started, resolved))
    return taken


def _silence(brand: BrandSettings, rule: str, holds: Sequence[Span]) -> Silenced:
    """When new `rule` incidents are held back: configured silences, and the holds."""

    def silenced(now: datetime) -> bool:
        held = any(a <= now and (b is None or now < b) for a, b in holds)
        return held or brand.silenced(rule, now)

    return silenced


def _overlaps(item: Replayed, spans: Sequence[Span]) -> bool:
    """Whether the incident's life meets one of `spans`."""
    started, ended = item.incident.started_at, item.incident.resolved_at
    return any((ended is None or a <= ended) and (b is None or started <= b) for a, b in spans)


def _record(item: Replayed) -> AlertRecord:
    """The historical alert row of a replayed incident, with the numbers it opened on."""
    record = record_of(item.incident, None)
    details = {**record.details, **finding_numbers(item.opening), "historical": True}
    if item.escalated_at is not None:
        details["escalated_at"] = item.escalated_at.isoformat()
    return replace(record, details=details, historical=True)
