"""`pulso quarantine`: the mentions set aside because they could not be mapped, scored or
stored; `--retry` tries them again and removes those that are stored now."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

from monitor.cli.common import EXIT_CONFIG, load
from monitor.kernel.records import utcnow
from monitor.settings import Settings

ERROR_WIDTH = 90


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `quarantine` subcommand's options."""
    parser.add_argument("--config", default=os.environ.get("PULSO_CONFIG", "config/pulso.yaml"))
    parser.add_argument(
        "--retry", action="store_true", help="try them again; stored ones leave the quarantine"
    )
    parser.add_argument("--limit", type=int, default=1000, help="at most this many (oldest first)")


def run_quarantine(args: argparse.Namespace) -> int:
    """List the quarantine, or retry it (exit 1 if some still fail)."""
    settings = load(args.config)
    if settings is None:
        return EXIT_CONFIG
    if args.retry:
        return _retry(settings, args.limit)
    return _list(settings, args.limit)


def _retry(settings: Settings, limit: int) -> int:
    from monitor.pipeline import retry_quarantined
    from monitor.runtime import build_runtime

    rt = build_runtime(settings)
    try:
        report = retry_quarantined(rt, limit)
    finally:
        rt.close()
    sys.stdout.write(f"quarantine retried: {report.stored} stored, {report.failed} still failing\n")
    return 1 if report.failed else 0


def _list(settings: Settings, limit: int) -> int:
    from monitor.storage.engine import make_engine, migrate, session_factory
    from monitor.storage.quarantine import quarantined

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            rows = quarantined(session, limit)
    finally:
        engine.dispose()
    if not rows:
        sys.stdout.write("the quarantine is empty\n")
        return 0
    now = utcnow()
    lines = [("ID", "BRAND", "SOURCE", "POST", "STAGE", "TRIES", "AGE", "ERROR")]
    for row in rows:
        lines.append(
            (
                str(row.id),
                row.brand,
                row.source,
                (row.external_id or "?")[:24],
                row.stage,
                str(row.attempts),
                _age(now, row.first_seen_at),
                row.error[:ERROR_WIDTH],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        sys.stdout.write("  ".join([*cells, line[-1]]).rstrip() + "\n")
    sys.stdout.write(f"{len(rows)} in the quarantine; `pulso quarantine --retry` retries them\n")
    return 0


def _age(now: datetime, since: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
