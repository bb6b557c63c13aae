"""The `pulso` command: run the daemon, check a configuration, score texts, backtest."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from models.engines import ENGINE_NAMES
from monitor import __version__
from monitor.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from monitor.runtime import Runtime

logger = logging.getLogger(__name__)

CONFIG_VAR = "PULSO_CONFIG"
DEFAULT_CONFIG = "config/pulso.yaml"
EXIT_CONFIG = 2
# The languages of the XLM-T tweet benchmarks: what `pulso score` tells apart by default.
SCORE_LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "ar", "hi")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulso", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pulso {__version__}")
    parser.add_argument("--log-level", default=os.environ.get("PULSO_LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the daemon (collect, detect, alert)")
    run.add_argument("--config", default=os.environ.get(CONFIG_VAR, DEFAULT_CONFIG))
    run.add_argument("--once", action="store_true", help="run one full cycle and exit")
    backfill = commands.add_parser("backfill", help="collect a source's past mentions")
    backfill.add_argument("--config", default=os.environ.get(CONFIG_VAR, DEFAULT_CONFIG))
    backfill.add_argument("--source", required=True, help="e.g. x, bluesky, hackernews")
    backfill.add_argument("--since", required=True, help="date or time (UTC), e.g. 2026-11-01")
    backfill.add_argument("--brand", help="only this brand (default: every brand using it)")
    backfill.add_argument(
        "--no-history", action="store_true", help="do not compute the span's past incidents"
    )
    digest = commands.add_parser("digest", help="the weekly digest of a brand")
    digest.add_argument("--config", default=os.environ.get(CONFIG_VAR, DEFAULT_CONFIG))
    digest.add_argument("--brand", help="default: the first brand")
    digest.add_argument("--week", help="ISO week such as 2026-W47 (default: last week)")
    digest.add_argument("--locale", choices=("en", "es"), default="en")
    digest.add_argument("--tz", default="UTC", help="time zone of the week, e.g. Europe/Madrid")
    digest.add_argument("--preview", help="write the HTML (images inline) here")
    digest.add_argument(
        "--send", action="store_true", help="mail it now to the config's digest recipients"
    )
    worker = commands.add_parser(
        "worker", help="run one worker of the scaled mode (PostgreSQL; start several)"
    )
    worker.add_argument("--config", default=os.environ.get(CONFIG_VAR, DEFAULT_CONFIG))
    worker.add_argument("--concurrency", type=int, help="jobs at once (default: from config)")
    status = commands.add_parser("sources", help="how each brand's sources are doing")
    status.add_argument("--config", default=os.environ.get(CONFIG_VAR, DEFAULT_CONFIG))
    forget = commands.add_parser(
        "forget-author", help="erase every mention by an author (a privacy erasure request)"
    )
    forget.add_argument("handle", help="the author's handle, with or without @")
    forget.add_argument("--source", help="only on this platform, e.g. x, mastodon, bluesky")
    forget.add_argument("--config", default=os.environ.get(CONFIG_VAR, DEFAULT_CONFIG))
    forget.add_argument("--yes", action="store_true", help="erase without asking first")
    check = commands.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file")
    probe = commands.add_parser("healthcheck", help="exit 0 if the running daemon is healthy")
    probe.add_argument("--config", default=os.environ.get(CONFIG_VAR, DEFAULT_CONFIG))
    probe.add_argument("--url", help="default: http://127.0.0.1:{service.port}/healthz")
    probe.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    score = commands.add_parser("score", help="score texts (one per line, or JSONL) as JSON lines")
    score.add_argument("file", nargs="?", default="-", help="input file, or - for stdin")
    score.add_argument("--engine", choices=ENGINE_NAMES, default="auto")
    score.add_argument("--model", help="transformer model: a local folder or a cached hub id")
    score.add_argument(
        "--languages",
        default=",".join(SCORE_LANGUAGES),
        help="languages to tell apart (ISO 639-1, comma-separated)",
    )
    score.add_argument("--threads", type=int, default=None)
    backtest = commands.add_parser(
        "backtest", help="replay past counts or mentions through the detector"
    )
    from monitor.cli.backtest import add_arguments

    add_arguments(backtest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pulso` console script."""
    args = _parser().parse_args(argv)
    from monitor.service.logs import setup_logging

    setup_logging(args.log_level)
    if args.command == "check-config":
        return check_config(args.file)
    if args.command == "healthcheck":
        from monitor.service.healthcheck import run_healthcheck

        return run_healthcheck(args.config, args.url, args.timeout)
    if args.command == "score":
        return score(args)
    if args.command == "sources":
        return sources_table(args.config)
    if args.command == "backfill":
        return backfill(args)
    if args.command == "forget-author":
        return forget_author(args)
    if args.command == "worker":
        return worker(args)
    if args.command == "digest":
        return digest_preview(args)
    if args.command == "backtest":
        from monitor.cli.backtest import run_backtest

        return run_backtest(args)
    return run(args.config, once=args.once)


def score(args: argparse.Namespace) -> int:
    """`pulso score`: JSON lines of sentiment for the input's lines."""
    from models.engines import EngineOptions, build_scorer
    from monitor.cli.score import run_score

    options = EngineOptions(
        engine=args.engine,
        model=args.model,
        threads=args.threads,
        languages=tuple(code.strip() for code in args.languages.split(",") if code.strip()),
    )
    return run_score(args.file, build_scorer(options))


def _load(path: str) -> Settings | None:
    try:
        return load_settings(path)
    except ConfigError as exc:
        for line in exc.errors:
            sys.stderr.write(line + "\n")
        return None


def check_config(path: str) -> int:
    """Print every problem as `FILE: key.path: message`; exit 2 if there is any."""
    settings = _load(path)
    if settings is None:
        return EXIT_CONFIG
    brands = ", ".join(b.id for b in settings.brands)
    notifiers = ", ".join(settings.notifiers.enabled()) or "none"
    sys.stdout.write(f"{path}: OK (brands: {brands}; notifiers: {notifiers})\n")
    return 0


def backfill(args: argparse.Namespace) -> int:
    """`pulso backfill --source S --since DATE`."""
    from monitor.cli.backfill import run_backfill
    from monitor.kernel.records import parse_utc
    from monitor.runtime import build_runtime

    try:
        since = parse_utc(args.since)
    except ValueError:
        sys.stderr.write(f"pulso backfill: --since {args.since!r} is not a date (2026-11-01)\n")
        return EXIT_CONFIG
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    rt = build_runtime(settings)
    try:
        return run_backfill(rt, args.source, since, args.brand, history=not args.no_history)
    finally:
        rt.close()


def forget_author(args: argparse.Namespace) -> int:
    """`pulso forget-author HANDLE`: erase an author's mentions and example posts."""
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    from monitor.storage.forget import run_forget_author

    return run_forget_author(settings, args.handle, args.source, assume_yes=args.yes)


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
    sys.stdout.write(f"digests sent: {report.sent}; waiting for a retry: {report.retrying}\n")
    return 0 if not report.retrying and not report.refused else 1


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


def _startable(path: str, prog: str) -> Settings | None:
    """The settings a long-running command starts on, or None (said on stderr) if invalid."""
    settings = _load(path)
    if settings is None:
        sys.stderr.write(f"{prog}: refusing to start with an invalid configuration\n")
    return settings


def _serve(settings: Settings, prog: str, body: Callable[[Runtime], int]) -> int:
    """Run `body` on a runtime built from `settings`, closed after; exit 2 if already running."""
    from monitor.runtime import build_runtime
    from monitor.service.singleton import AlreadyRunning

    rt = build_runtime(settings)
    try:
        return body(rt)
    except AlreadyRunning as exc:
        sys.stderr.write(f"{prog}: {exc}\n")
        return EXIT_CONFIG
    finally:
        rt.close()


def worker(args: argparse.Namespace) -> int:
    """`pulso worker`: one replica of the scaled mode, until SIGTERM."""
    settings = _startable(args.config, "pulso worker")
    if settings is None:
        return EXIT_CONFIG
    if args.concurrency:
        update = {"concurrency": args.concurrency}
        settings = settings.model_copy(update={"worker": settings.worker.model_copy(update=update)})
    from monitor.service.worker import WorkerSetupError, conninfo, run_worker

    try:
        conninfo(settings.database_url)
        import procrastinate  # noqa: F401
    except WorkerSetupError as exc:
        sys.stderr.write(f"pulso worker: {exc}\n")
        return EXIT_CONFIG
    except ImportError:
        sys.stderr.write(
            "pulso worker: procrastinate is not installed; pip install 'pulso[postgres]'\n"
        )
        return EXIT_CONFIG
    from monitor.service.singleton import ensure_no_scheduler

    def work(rt: Runtime) -> int:
        ensure_no_scheduler(rt.engine)
        run_worker(rt)
        return 0

    return _serve(settings, "pulso worker", work)


def run(path: str, once: bool) -> int:
    """Start Pulso on the configuration at `path`."""
    settings = _startable(path, "pulso")
    if settings is None:
        return EXIT_CONFIG
    from monitor.service.daemon import run_forever, run_once
    from monitor.service.singleton import sole_scheduler

    def schedule(rt: Runtime) -> int:
        with sole_scheduler(rt.engine, settings.worker.stalled_after_seconds):
            if once:
                return 1 if run_once(rt) else 0
            run_forever(rt)
        return 0

    return _serve(settings, "pulso run", schedule)


if __name__ == "__main__":
    raise SystemExit(main())
