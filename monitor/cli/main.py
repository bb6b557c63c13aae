"""The `pulso` command: run the daemon, check a configuration, score texts, backtest."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from models.engines import ENGINE_NAMES
from monitor import __version__
from monitor.cli.common import EXIT_CONFIG
from monitor.cli.common import load as _load
from monitor.settings import Settings

if TYPE_CHECKING:
    from monitor.runtime import Runtime

logger = logging.getLogger(__name__)

CONFIG_VAR = "PULSO_CONFIG"
DEFAULT_CONFIG = "config/pulso.yaml"
EXIT_DATABASE = 3
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
    check.add_argument(
        "--online", action="store_true", help="also ask Slack whether its token works (auth.test)"
    )
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
    from monitor.cli import quarantine

    quarantine.add_arguments(
        commands.add_parser("quarantine", help="mentions that could not be stored; --retry")
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pulso` console script."""
    args = _parser().parse_args(argv)
    from sqlalchemy.exc import OperationalError

    from monitor.service.logs import setup_logging
    from monitor.storage.errors import describe

    setup_logging(args.log_level)
    try:
        return _command(args)
    except OperationalError as exc:  # unreachable, read-only, full: the operator's to fix
        sys.stderr.write(f"pulso {args.command}: {describe(exc)}\n")
        return EXIT_DATABASE


def _command(args: argparse.Namespace) -> int:
    """Run the parsed command."""
    if args.command == "check-config":
        return check_config(args.file, online=args.online)
    if args.command == "healthcheck":
        from monitor.service.healthcheck import run_healthcheck

        return run_healthcheck(args.config, args.url, args.timeout)
    if args.command == "score":
        return score(args)
    if args.command == "sources":
        from monitor.cli.sources import sources_table

        return sources_table(args.config)
    if args.command == "backfill":
        return backfill(args)
    if args.command == "forget-author":
        return forget_author(args)
    if args.command == "worker":
        return worker(args)
    if args.command == "digest":
        from monitor.cli.digest import digest_preview

        return digest_preview(args)
    if args.command == "quarantine":
        from monitor.cli.quarantine import run_quarantine

        return run_quarantine(args)
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


def check_config(path: str, online: bool = False) -> int:
    """Print every problem as `FILE: key.path: message`; exit 2 if there is any.

    `online`: also ask each notifier (Slack's `auth.test`); exit 1 if one refuses.
    """
    settings = _load(path)
    if settings is None:
        return EXIT_CONFIG
    problems = [
        f"{path}: brands[{i}].sources.{name}.{line}"
        for i, brand in enumerate(settings.brands)
        for name, source in brand.sources.enabled().items()
        for line in source.problems()
    ]
    if problems:
        sys.stderr.write("".join(line + "\n" for line in problems))
        return EXIT_CONFIG
    if online:
        from monitor.cli.online import check_online

        if status := check_online(path, settings):
            return status
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
