"""The pipeline's stages as plain functions: collect, detect, deliver."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from models.sentiment import Sentiment
from monitor import telemetry
from monitor.delivery.outbox import DeliveryReport
from monitor.detection.lifecycle import detect_brand
from monitor.detection.source_alerts import check_sources
from monitor.kernel.events import AlertEvent
from monitor.kernel.normalize import normalize_mention
from monitor.kernel.records import Mention
from monitor.runtime import Runtime
from monitor.storage.health import record_failure, record_success, waiting_until
from monitor.storage.mentions import load_cursor, save_cursor, store_mentions, stored_keys
from monitor.storage.quarantine import (
    DATA_ERRORS,
    MAP,
    SCORE,
    STORE,
    Reject,
    isolate,
    mention_from_payload,
    one_line,
    quarantine,
    quarantined,
    record_attempt,
    reject,
    release,
)
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
Key = tuple[str, str]


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
    """Fetch new mentions page by page; each page is stored with its cursor, atomically.

    Every mention is normalised first (`kernel.normalize`), whatever the source; one that
    still cannot be mapped, scored or stored goes to the quarantine and the page goes on.
    """
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
        page = _Page(brand_id, source, batch.cursor)
        safe = _normalised(rt, batch.mentions, page.rejects)
        mentions = rt.privacy.apply(rt.matchers[brand_id].select(safe))
        report.fetched += len(batch.mentions)
        report.matched += len(mentions)
        new_ids = _store_page(rt, page, mentions, report, defer)
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


@dataclass
class _Page:
    """One fetched page on its way to the database, and the mentions set aside from it."""

    brand: str
    source: str
    cursor: str | None
    rejects: list[Reject] = field(default_factory=list)


def _normalised(rt: Runtime, mentions: list[Mention], rejects: list[Reject]) -> list[Mention]:
    """Every mention made safe to score and store; one that cannot be is set aside."""
    safe: list[Mention] = []
    for mention in mentions:
        try:
            safe.append(normalize_mention(mention))
        except Exception as exc:  # a source's bug in one post must not stop its page
            rejects.append(reject(_private(rt, mention), MAP, exc))
    return safe


def _private(rt: Runtime, mention: Mention) -> Mention:
    """What the quarantine may keep of a mention: its authors pseudonymised as stored
    mentions' are, or none at all if even that fails."""
    try:
        return rt.privacy.apply([mention])[0]
    except Exception:
        return replace(mention, author_handle=None, author_name=None, url=None)


def _store_page(
    rt: Runtime,
    page: _Page,
    mentions: list[Mention],
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
        sentiments = _scores(rt, fresh, page.rejects)
        fresh = [m for m in fresh if m.key in sentiments]
        mentions = [m for m in mentions if m.key in known or m.key in sentiments]
    touchpoints = _touchpoints(rt, fresh)
    stored, new_ids = _write_page(rt, page, mentions, sentiments, touchpoints)
    report.stored += stored
    telemetry.MENTIONS_COLLECTED.labels(page.brand, page.source).inc(stored)
    return new_ids


def _scores(rt: Runtime, mentions: list[Mention], rejects: list[Reject]) -> dict[Key, Sentiment]:
    """The sentiment of each mention; one the engine fails on is set aside."""
    done, failed = isolate(lambda batch: rt.scorer.score([m.text for m in batch]), mentions)
    rejects.extend(reject(mention, SCORE, exc) for mention, exc in failed)
    return {mention.key: sentiment for mention, sentiment in done}


def _touchpoints(rt: Runtime, mentions: list[Mention]) -> dict[Key, list[str]]:
    """The touchpoints of each mention; one the tagger fails on is stored untagged."""
    if rt.tagger is None:
        return {}
    tagger = rt.tagger
    done, failed = isolate(lambda batch: tagger.tag_many([m.text for m in batch]), mentions)
    for mention, exc in failed:
        logger.warning("%s:%s: not tagged: %s", *mention.key, one_line(exc))
    return {mention.key: list(tags) for mention, tags in done}


def _write_page(
    rt: Runtime,
    page: _Page,
    mentions: list[Mention],
    sentiments: dict[Key, Sentiment] | None,
    touchpoints: dict[Key, list[str]],
) -> tuple[int, list[int]]:
    """Store the page, its rejects and its cursor in one transaction: (links, new ids).

    If a row's data makes the page fail, each mention is stored alone and the ones that
    still fail join the quarantine; then the rejects and the cursor are saved.
    """
    try:
        return _write(rt, page, mentions, sentiments, touchpoints, finish=True)
    except DATA_ERRORS as exc:
        logger.warning(
            "%s/%s: storing a page failed (%s); storing it mention by mention",
            page.brand,
            page.source,
            one_line(exc),
        )
    stored, new_ids = 0, []
    for mention in mentions:
        try:
            count, ids = _write(rt, page, [mention], sentiments, touchpoints, finish=False)
            new_ids.extend(ids)
        except DATA_ERRORS as exc:
            page.rejects.append(reject(mention, STORE, exc))
            continue
        stored += count
    _write(rt, page, [], sentiments, touchpoints, finish=True)
    return stored, new_ids


def _write(
    rt: Runtime,
    page: _Page,
    mentions: list[Mention],
    sentiments: dict[Key, Sentiment] | None,
    touchpoints: dict[Key, list[str]],
    finish: bool,
) -> tuple[int, list[int]]:
    """Store mentions in one transaction; with `finish`, the page's rejects and cursor too."""
    new_ids: list[int] = []
    with rt.sessions.begin() as session:
        stored = store_mentions(session, page.brand, mentions, sentiments, touchpoints, new_ids)
        if finish:
            _finish_page(session, rt, page)
    return stored, new_ids


def _finish_page(session: Session, rt: Runtime, page: _Page) -> None:
    """Quarantine the page's rejects and save its cursor (in the caller's transaction)."""
    if page.rejects:
        quarantine(session, page.brand, page.rejects, rt.clock())
        first = page.rejects[0]
        logger.warning(
            "%s/%s: %d mention(s) set aside in the quarantine, e.g. %s:%s at %s: %s "
            "(pulso quarantine lists them)",
            page.brand,
            page.source,
            len(page.rejects),
            first.source,
            first.external_id,
            first.stage,
            first.error,
        )
    if page.cursor is not None:
        save_cursor(session, page.brand, page.source, page.cursor)


@dataclass
class RetryReport:
    """What one retry of the quarantine did."""

    stored: int = 0
    failed: int = 0


def retry_quarantined(rt: Runtime, limit: int = 1000) -> RetryReport:
    """Try each quarantined mention again; one that passes now is stored and released."""
    report = RetryReport()
    with rt.sessions() as session:
        rows = [(row.id, row.brand, row.payload) for row in quarantined(session, limit)]
    for row_id, brand, payload in rows:
        failure = _retry(rt, row_id, brand, payload)
        if failure is None:
            report.stored += 1
            continue
        report.failed += 1
        with rt.sessions.begin() as session:
            record_attempt(session, row_id, failure, rt.clock())
    logger.info("quarantine retried: %d stored, %d still failing", report.stored, report.failed)
    return report


def _retry(rt: Runtime, row_id: int, brand: str, payload: str) -> Reject | None:
    """Map, score and store one quarantined mention, releasing it; why not, if it fails."""
    try:
        mention = normalize_mention(mention_from_payload(payload))
    except Exception as exc:  # whatever the payload holds, the other rows go on
        return Reject("", None, payload, MAP, one_line(exc))
    rejects: list[Reject] = []
    with rt.sessions() as session:
        known = stored_keys(session, [mention])
    sentiments = {} if known else _scores(rt, [mention], rejects)
    if rejects:
        return rejects[0]
    touchpoints = {} if known else _touchpoints(rt, [mention])
    try:
        with rt.sessions.begin() as session:
            store_mentions(session, brand, [mention], sentiments, touchpoints)
            release(session, [row_id])
    except DATA_ERRORS as exc:
        return reject(mention, STORE, exc)
    return None


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
