"""`pulso digest`: preview a week's digest as a page, or mail it now."""

from __future__ import annotations

import argparse
import sys

from monitor.cli.common import EXIT_CONFIG
from monitor.cli.common import load as _load
from monitor.settings import Settings


def digest_preview(args: argparse.Namespace) -> int:
    """`pulso digest --preview FILE.html`: the week's digest as a page to look at."""
    from pathlib import Path
    from zoneinfo import ZoneInfoNotFoundError

    from monitor.digest.build import build_digest, last_week, preview_html
    from monitor.kernel.records import utcnow
    from monitor.storage.engine import make_engine, migrate, session_factory

    if not (args.preview or args.send):
        sys.stderr.write("pulso digest: say --preview FILE.html, --send, or both\n")
        return EXIT_CONFIG
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    brand = next((b for b in settings.brands if args.brand in (None, b.id)), None)
    if brand is None:
        sys.stderr.write(f"pulso digest: no brand {args.brand!r} in {args.config}\n")
        return EXIT_CONFIG
    try:
        week = args.week or last_week(args.tz, utcnow())
        engine = make_engine(settings.database_url)
        migrate(engine)
        with session_factory(engine)() as session:
            rendered = build_digest(session, brand, week, args.tz, args.locale)
        engine.dispose()
    except (ValueError, ZoneInfoNotFoundError) as exc:
        sys.stderr.write(f"pulso digest: {exc}\n")
        return EXIT_CONFIG
    if args.preview:
        Path(args.preview).write_text(preview_html(rendered), encoding="utf-8")
        sys.stdout.write(f"{rendered.subject}\nwrote {args.preview}\n")
    if args.send:
        return _send_digest(settings, week, brand.id)
    return 0


def _send_digest(settings: Settings, week: str, brand: str) -> int:
    from monitor.digest.send import send_due_digests
    from monitor.runtime import build_runtime

    if settings.digest is None:
        sys.stderr.write("pulso digest: --send needs a `digest:` section in the config\n")
        return EXIT_CONFIG
    rt = build_runtime(settings)
    try:
        report = send_due_digests(rt, week=week, force=True, only=brand)
    finally:
        rt.close()
    waiting = report.retrying + report.refused
    sys.stdout.write(f"digests sent: {report.sent}; waiting for a retry: {waiting}\n")
    return 0 if not report.retrying and not report.refused else 1
