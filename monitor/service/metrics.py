"""Prometheus metrics: counters the pipeline bumps, and gauges read from the database at scrape.

Everything lives in `REGISTRY` (not prometheus_client's global one), which `/metrics`
serves. The database gauges come from `DatabaseCollector`, registered by the HTTP server
for the runtime it serves; its queries are small and indexed, so a scrape stays cheap.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models.sentiment import Scorer, Sentiment
from monitor.storage.health import source_state
from monitor.storage.mentions import load_cursor
from monitor.storage.schema import MentionRow, OutboxRow, SourceHealthRow
from sources.x import XSource

if TYPE_CHECKING:
    from monitor.kernel.events import AlertEvent
    from monitor.runtime import Runtime

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

MENTIONS_COLLECTED = Counter(
    "pulso_mentions_collected",
    "New mentions stored for a brand, by source.",
    ["brand", "source"],
    registry=REGISTRY,
)
SOURCE_ERRORS = Counter(
    "pulso_source_errors",
    "Failed collections, by kind: rate_limited or error.",
    ["brand", "source", "kind"],
    registry=REGISTRY,
)
MENTIONS_SCORED = Counter(
    "pulso_mentions_scored",
    "Texts scored for sentiment, by the engine that scored them.",
    ["engine"],
    registry=REGISTRY,
)
SCORING_SECONDS = Histogram(
    "pulso_scoring_seconds",
    "Time to score one batch of texts.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
SCORING_BATCH_SIZE = Histogram(
    "pulso_scoring_batch_size",
    "Texts in one scoring batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
    registry=REGISTRY,
)
DETECTOR_TICKS = Counter(
    "pulso_detector_ticks",
    "Detector runs completed, by brand.",
    ["brand"],
    registry=REGISTRY,
)
ALERTS_FIRED = Counter(
    "pulso_alerts_fired",
    "Incidents opened.",
    ["brand", "rule", "severity"],
    registry=REGISTRY,
)
ALERTS_RESOLVED = Counter(
    "pulso_alerts_resolved",
    "Incidents resolved.",
    ["brand", "rule"],
    registry=REGISTRY,
)
MESSAGES_DELIVERED = Counter(
    "pulso_alert_messages_delivered",
    "Outbox rows delivered, by notifier.",
    ["notifier"],
    registry=REGISTRY,
)


def record_detection(brand: str, events: Iterable[AlertEvent]) -> None:
    """Count one detector tick of `brand` and the incidents it opened or resolved."""
    DETECTOR_TICKS.labels(brand).inc()
    for event in events:
        if event.kind == "opened":
            ALERTS_FIRED.labels(event.brand, event.rule, event.severity).inc()
        elif event.kind == "resolved":
            ALERTS_RESOLVED.labels(event.brand, event.rule).inc()


def record_source_error(brand: str, source: str, rate_limited: bool) -> None:
    """Count one failed collection."""
    SOURCE_ERRORS.labels(brand, source, "rate_limited" if rate_limited else "error").inc()


class TimedScorer:
    """Any `Scorer`, with each batch's latency and size and each result's engine counted."""

    def __init__(self, inner: Scorer) -> None:
        self.inner = inner
        self.name = inner.name

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """Score `texts` with the wrapped scorer; empty batches are not measured."""
        if not texts:
            return self.inner.score(texts)
        started = time.perf_counter()
        results = self.inner.score(texts)
        SCORING_SECONDS.observe(time.perf_counter() - started)
        SCORING_BATCH_SIZE.observe(len(texts))
        for engine, count in Tally(s.engine for s in results).items():
            MENTIONS_SCORED.labels(engine).inc(count)
        return results


@dataclass(frozen=True, slots=True)
class Backlog:
    """A notifier's unfinished outbox rows: how many, and when the oldest was queued."""

    count: int
    oldest: datetime | None


def outbox_backlog(session: Session, notifiers: Iterable[str]) -> dict[str, Backlog]:
    """Unfinished outbox rows per notifier (every name in `notifiers` appears)."""
    from monitor.delivery.outbox import UNFINISHED  # outbox imports this module: import it late

    found = {name: Backlog(0, None) for name in notifiers}
    rows = session.execute(
        select(OutboxRow.notifier, func.count(), func.min(OutboxRow.created_at))
        .where(OutboxRow.status.in_(UNFINISHED))
        .group_by(OutboxRow.notifier)
    )
    for notifier, count, oldest in rows:
        found[str(notifier)] = Backlog(int(count), oldest)
    return found


def pending_scores(session: Session) -> int:
    """Mentions stored but not yet scored."""
    # The literal matches the partial index's WHERE, so even a generic plan uses it.
    return int(
        session.scalar(
            select(func.count()).select_from(MentionRow).where(text("sentiment_label = 'pending'"))
        )
        or 0
    )


class DatabaseCollector(Collector):
    """Gauges read at scrape time: outbox backlog, source health, X budget, pending scores."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields (the registry refuses a second one)."""
        return self._families().values()

    def collect(self) -> Iterable[Metric]:
        """Read the database; if it cannot be read, say so in `pulso_database_up`."""
        families = self._families()
        try:
            with self.rt.sessions() as session:
                self._fill(session, families)
            up = 1.0
        except SQLAlchemyError as exc:
            logger.warning("metrics: the database could not be read: %s", type(exc).__name__)
            families = self._families()
            up = 0.0
        families["database_up"].add_metric([], up)
        return families.values()

    def _families(self) -> dict[str, GaugeMetricFamily]:
        return {
            "database_up": GaugeMetricFamily(
                "pulso_database_up", "Whether the last scrape could read the database."
            ),
            "backlog": GaugeMetricFamily(
                "pulso_outbox_backlog",
                "Alert messages not yet delivered, by notifier.",
                labels=["notifier"],
            ),
            "oldest": GaugeMetricFamily(
                "pulso_outbox_oldest_age_seconds",
                "Age of the oldest undelivered alert message, by notifier (0 if none).",
                labels=["notifier"],
            ),
            "source_up": GaugeMetricFamily(
                "pulso_source_up",
                "1 if the last collection of a (brand, source) worked, 0 if failing or limited.",
                labels=["brand", "source"],
            ),
            "x_budget": GaugeMetricFamily(
                "pulso_x_read_budget_remaining",
                "X posts that may still be read this month, by brand.",
                labels=["brand"],
            ),
            "pending": GaugeMetricFamily(
                "pulso_mentions_pending_scoring", "Mentions stored and waiting for a score."
            ),
        }

    def _fill(self, session: Session, families: dict[str, GaugeMetricFamily]) -> None:
        now = self.rt.clock()
        for name, backlog in outbox_backlog(session, self.rt.outbox.notifiers).items():
            age = (now - backlog.oldest).total_seconds() if backlog.oldest else 0.0
            families["backlog"].add_metric([name], backlog.count)
            families["oldest"].add_metric([name], max(0.0, age))
        for (brand, platform), up in self._sources_up(session, now):
            families["source_up"].add_metric([brand, platform], up)
        for (brand, name), source in self.rt.sources.items():
            if isinstance(source, XSource):
                left = source.budget_status(load_cursor(session, brand, name))["left"]
                families["x_budget"].add_metric([brand], float(left))
        families["pending"].add_metric([], pending_scores(session))

    def _sources_up(
        self, session: Session, now: datetime
    ) -> Iterator[tuple[tuple[str, str], float]]:
        """1 or 0 for each configured (brand, source) that has run at least once."""
        configured = set(self.rt.sources)
        for row in session.scalars(select(SourceHealthRow)):
            if (row.brand, row.source) in configured:
                yield (row.brand, row.source), float(source_state(row, now) == "ok")
