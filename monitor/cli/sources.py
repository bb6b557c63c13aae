"""`pulso sources`: how each brand's sources are doing, one line each."""

from __future__ import annotations

import sys
from datetime import timedelta

from monitor.cli.common import EXIT_CONFIG
from monitor.cli.common import load as _load


def sources_table(path: str) -> int:
    """`pulso sources`: one line per (brand, source): state, last success, failures, volume."""
    settings = _load(path)
    if settings is None:
        return EXIT_CONFIG
    from monitor.kernel.records import utcnow
    from monitor.storage.engine import make_engine, migrate, session_factory
    from monitor.storage.health import statuses

    engine = make_engine(settings.database_url)
    migrate(engine)
    from monitor.storage.mentions import load_cursor
    from sources import SOURCES

    enabled = {(b.id, n): s for b in settings.brands for n, s in b.sources.enabled().items()}
    pairs = list(enabled)
    now = utcnow()
    with session_factory(engine)() as session:
        rows = statuses(session, pairs, now)
        notes = {
            (brand, name): SOURCES[name](enabled[(brand, name)]).status_note(
                load_cursor(session, brand, name)
            )
            for brand, name in pairs
        }
    engine.dispose()
    lines = [("BRAND", "SOURCE", "STATE", "LAST SUCCESS", "FAILURES", "LAST HOUR", "LAST ERROR")]
    for r in rows:
        ago = _ago(now - r.last_success_at) if r.last_success_at else "never"
        error = (r.last_error or "")[:70]
        if r.retry_at and r.state == "rate-limited":
            error = f"until {r.retry_at:%H:%M:%S} UTC; {error}"
        note = notes[(r.brand, r.source)]
        error = f"{note}; {error}" if note and error else note or error
        lines.append(
            (
                r.brand,
                r.source,
                r.state,
                ago,
                str(r.consecutive_failures),
                str(r.mentions_last_hour),
                error,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        sys.stdout.write("  ".join([*cells, line[-1]]).rstrip() + "\n")
    return 0


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"
