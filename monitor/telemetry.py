"""Prometheus counters the pipeline bumps, in Pulso's own registry (served at `/metrics`).

The gauges read from the database at scrape time live in `monitor.service.metrics`.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram

from models.sentiment import Scorer, Sentiment

if TYPE_CHECKING:
    from monitor.kernel.events import AlertEvent

REGISTRY = CollectorRegistry()


def _counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    return Counter(name, documentation, labels, registry=REGISTRY)


MENTIONS_COLLECTED = _counter(
    "pulso_mentions_collected", "New mentions stored for a brand, by source.", ["brand", "source"]
)
SOURCE_ERRORS = _counter(
    "pulso_source_errors",
    "Failed collections, by kind: rate_limited or error.",
    ["brand", "source", "kind"],
)
MENTIONS_SCORED = _counter(
    "pulso_mentions_scored",
    "Texts scored for sentiment, by the engine that scored them.",
    ["engine"],
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
DETECTOR_TICKS = _counter("pulso_detector_ticks", "Detector runs completed, by brand.", ["brand"])
ALERTS_FIRED = _counter("pulso_alerts_fired", "Incidents opened.", ["brand", "rule", "severity"])
ALERTS_RESOLVED = _counter("pulso_alerts_resolved", "Incidents resolved.", ["brand", "rule"])
MESSAGES_DELIVERED = _counter(
    "pulso_alert_messages_delivered", "Outbox rows delivered, by notifier.", ["notifier"]
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
