"""`pulso backfill`: collect a source's past mentions back to a date, for every brand using it.

The source's first sweep is stretched back to `--since` and run to the end; each page
is stored with its cursor as usual, so an interrupted backfill resumes where it stopped
when run again, and posts already stored are not stored twice. Then the brand's
incidents of the span are computed from its stored counts and kept as historical
(`detection.history`): never notified, replaced when the backfill runs again.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import TextIO

from monitor import pipeline
from monitor.detection.history import record_history
from monitor.kernel.records import utcnow
from monitor.runtime import Runtime
from monitor.storage.schema import CursorRow
from sources.base import SourceError

logger = logging.getLogger(__name__)

MAX_RUNS = 1000  # collections per brand; each stops after the source's own page cap


def run_backfill(
    rt: Runtime,
    source_name: str,
    since: datetime,
    brand: str | None = None,
    err: TextIO | None = None,
    history: bool = True,
) -> int:
    """Backfill `source_name` for `brand` (or every brand that enables it); exit status."""
    err = err or sys.stderr
    brands = [
        b.id
        for b in rt.settings.brands
        if (brand is None or b.id == brand) and (b.id, source_name) in rt.sources
    ]
    if not brands:
        who = f"brand {brand!r}" if brand else "no brand"
        err.write(f"pulso backfill: {who} enables the source {source_name!r}\n")
        return 2
    now = utcnow()
    for brand_id in brands:
        try:
            rt.sources[(brand_id, source_name)] = rt.sources[(brand_id, source_name)].backfill(
                since, now
            )
        except SourceError as exc:
            err.write(f"pulso backfill: {exc}\n")
            return 2
        _restart_sweep(rt, brand_id, source_name)
        try:
            totals = _collect_to_the_end(rt, brand_id, source_name, err)
        except SourceError as exc:  # refused, 401, timeout...: one line, what is stored stays
            err.write(
                f"pulso backfill: {brand_id}/{source_name}: {exc}; what was stored is kept"
                " (run it again: stored posts are not stored twice)\n"
            )
            return 1
        err.write(
            f"backfilled {brand_id}/{source_name} since {since:%Y-%m-%d %H:%M} UTC: "
            f"{totals['fetched']:,} fetched, {totals['stored']:,} new mentions\n"
        )
        if history:
            _record_history(rt, brand_id, since, now, err)
    return 0


def _record_history(rt: Runtime, brand: str, since: datetime, now: datetime, err: TextIO) -> None:
    """The brand's incidents of [since, now), kept as historical; say how many."""
    with rt.sessions.begin() as session:
        found = record_history(session, rt.brand(brand), rt.detectors[brand], since, now)
    err.write(
        f"{brand}: {len(found)} historical incident{'s' if len(found) != 1 else ''} "
        f"since {since:%Y-%m-%d %H:%M} UTC (never notified)\n"
    )


def _restart_sweep(rt: Runtime, brand: str, source_name: str) -> None:
    """Drop the saved cursor: the next collection starts a sweep of its own, reaching back."""
    with rt.sessions.begin() as session:
        row = session.get(CursorRow, (brand, source_name))
        if row is not None:
            session.delete(row)


def _collect_to_the_end(rt: Runtime, brand: str, source_name: str, err: TextIO) -> dict[str, int]:
    """Collect until a run fetches nothing; totals, with progress on a terminal."""
    show = err.isatty()
    totals = {"fetched": 0, "stored": 0, "pages": 0}

    def progress(report: pipeline.CollectReport) -> None:
        if show:
            err.write(
                f"\r{brand}/{source_name}: {totals['pages'] + report.pages} pages, "
                f"{totals['fetched'] + report.fetched:,} fetched, "
                f"{totals['stored'] + report.stored:,} new"
            )
            err.flush()

    for _ in range(MAX_RUNS):
        report = pipeline.collect(rt, brand, source_name, on_page=progress)
        totals["fetched"] += report.fetched
        totals["stored"] += report.stored
        totals["pages"] += report.pages
        if report.fetched == 0:
            break
    if show:
        err.write("\n")
    return totals
