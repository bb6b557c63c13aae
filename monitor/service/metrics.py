"""Prometheus gauges read from the database at scrape time (`DatabaseCollector`).

Registered by the HTTP server, for the runtime it serves, in `monitor.telemetry.REGISTRY`
beside the pipeline's counters; its queries are small and indexed, so a scrape stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.storage.health import source_state
from monitor.storage.mentions import load_cursor
from monitor.storage.outbox import outbox_backlog
from monitor.storage.quarantine import quarantine_count
from monitor.storage.schema import MentionRow, SourceHealthRow

if TYPE_CHECKING:
    from monitor.runtime import Runtime

logger = logging.getLogger(__name__)


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
            "quarantined": GaugeMetricFamily(
                "pulso_quarantined_mentions",
                "Mentions set aside because they could not be mapped, scored or stored.",
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
            left = source.read_budget_left(load_cursor(session, brand, name))
            if left is not None:  # only platforms that sell reads by the month have one
                families["x_budget"].add_metric([brand], float(left))
        families["pending"].add_metric([], pending_scores(session))
        families["quarantined"].add_metric([], quarantine_count(session))

    def _sources_up(
        self, session: Session, now: datetime
    ) -> Iterator[tuple[tuple[str, str], float]]:
        """1 or 0 for each configured (brand, source) that has run at least once."""
        configured = set(self.rt.sources)
        for row in session.scalars(select(SourceHealthRow)):
            if (row.brand, row.source) in configured:
                yield (row.brand, row.source), float(source_state(row, now) == "ok")
