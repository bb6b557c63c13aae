"""The pipeline's stages as plain functions: collect, detect, deliver."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from monitor import telemetry
from monitor.delivery.outbox import DeliveryReport
from monitor.detection.lifecycle import detect_brand
from monitor.detection.source_alerts import check_sources
from monitor.kernel.events import AlertEvent
from monitor.kernel.records import Mention
from monitor.runtime import Runtime
from monitor.storage.health import record_failure, record_success, waiting_until
from monitor.storage.mentions import load_cursor, save_cursor, store_mentions, stored_keys
from sources.base import Query, RateLimited, SourceError

logger = logging.getLogger(__name__)

MAX_PAGES = 100


@dataclass
class CollectReport:
    """What one collection of one (brand, source) did."""

    fetched: int = 0
    matched: int = 0
    stored: int = 0
    pages: int = 0


# Told the report so far after each page (progress); handed the ids of new mentions
# stored pending (scaled mode scores them on other workers).
OnPage = Callable[[CollectReport], object]
DeferScoring = Callable[[list[int]], object]


def collect(
    rt: Runtime,
    brand_id: str,
    source_name: str,
    on_page: OnPage | None = None,
    defer_scoring: DeferScoring | None = None,
) -> CollectReport:
    """Collect one (brand, source), keeping its health; a SourceError is recorded and raised.

    While a platform's rate-limit reset is ahead, nothing is asked of it. With
    `defer_scoring`, new mentions are stored as pending and their ids handed to it after
    each page commits (scaled mode scores them on other workers).
    """
    now = rt.clock()
    with rt.sessions() as session:
        until = waiting_until(session, brand_id, source_name, now)
    if until is not None:
        logger.info("%s/%s: rate limited until %s; skipped", brand_id, source_name, until)
        return CollectReport()
    try:
        report = _collect(rt, brand_id, source_name, on_page, defer_scoring)
    except SourceError as exc:
        limited = isinstance(exc, RateLimited)
        with rt.sessions.begin() as session:
            record_failure(
                session,
                brand_id,
                source_name,
                rt.clock(),
                str(exc),
                retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
                rate_limited=limited,
            )
        telemetry.record_source_error(brand_id, source_name, limited)
        raise
    with rt.sessions.begin() as session:
        record_success(session, brand_id, source_name, rt.clock())
    return report


def _collect(
    rt: Runtime, brand_id: str, source: str, on_page: OnPage | None, defer: DeferScoring | None
) -> CollectReport:
    """Fetch new mentions page by page; each page is stored with its cursor, atomically."""
    brand = rt.brand(brand_id)
    platform = rt.sources[(brand_id, source)]
    query = Query(brand.id, brand.keywords, brand.exclusions, brand.languages)
    report = CollectReport()
    with rt.sessions() as session:
        cursor = load_cursor(session, brand_id, source)
    more = True
    while more and report.pages < MAX_PAGES:
        batch = platform.fetch(query, cursor)
        report.pages += 1
        mentions = rt.privacy.apply(rt.matchers[brand_id].select(batch.mentions))
        report.fetched += len(batch.mentions)
        report.matched += len(mentions)
        new_ids = _store_page(rt, brand_id, source, mentions, batch.cursor, report, defer)
        if defer and new_ids:
            defer(new_ids)
        cursor, more = batch.cursor, batch.more
        if on_page is not None:
            on_page(report)
    logger.info(
        "collected %s/%s: %d fetched, %d about the brand, %d new",
        brand_id,
        source,
        report.fetched,
        report.matched,
        report.stored,
    )
    return report


def _store_page(
    rt: Runtime,
    brand_id: str,
    source: str,
    mentions: list[Mention],
    cursor: str | None,
    report: CollectReport,
    defer: DeferScoring | None,
) -> list[int]:
    """Score and tag the page's new mentions, store them with the cursor; their new ids."""
    with rt.sessions() as session:
        known = stored_keys(session, mentions)
    fresh = [m for m in mentions if m.key not in known]
    # Score outside the write transaction: a slow model must not hold the database.
    sentiments = None
    if defer is None:
        scores = rt.scorer.score([m.text for m in fresh])
        sentiments = dict(zip((m.key for m in fresh), scores, strict=True))
    tags = rt.tagger.tag_many([m.text for m in fresh]) if rt.tagger else []
    touchpoints = dict(zip((m.key for m in fresh), tags, strict=False))
    new_ids: list[int] = []
    with rt.sessions.begin() as session:
        stored = store_mentions(session, brand_id, mentions, sentiments, touchpoints, new_ids)
        if cursor is not None:
            save_cursor(session, brand_id, source, cursor)
    report.stored += stored
    telemetry.MENTIONS_COLLECTED.labels(brand_id, source).inc(stored)
    return new_ids


def detect(rt: Runtime, brand_id: str) -> list[AlertEvent]:
    """Run the brand's detector at the current time and update its incident."""
    brand = rt.brand(brand_id)
    notifiers = list(rt.outbox.notifiers)
    with rt.sessions.begin() as session:
        events = detect_brand(session, brand, rt.detectors[brand_id], notifiers, rt.clock())
        events = [*events, *check_sources(session, brand, notifiers, rt.clock())]
    telemetry.record_detection(brand_id, events)
    return events


def deliver(rt: Runtime, wait_seconds: float = 0.0) -> DeliveryReport:
    """Deliver due outbox rows; optionally wait up to `wait_seconds` for short retries."""
    deadline = time.monotonic() + wait_seconds
    total = rt.outbox.deliver_due()
    while True:
        due = rt.outbox.next_due()
        if due is None:
            break
        pause = max(0.05, (due - rt.outbox.clock()).total_seconds())
        if time.monotonic() + pause > deadline:
            break
        time.sleep(pause)
        report = rt.outbox.deliver_due()
        total.sent += report.sent
        total.retrying, total.blocked = report.retrying, report.blocked
        total.errors.update(report.errors)
    return total
