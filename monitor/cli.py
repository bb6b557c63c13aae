"""The `pulso` command: run the daemon, check a configuration."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from monitor import __version__
from monitor.settings import ConfigError, Settings, load_settings

logger = logging.getLogger(__name__)

CONFIG_VAR = "PULSO_CONFIG"
DEFAULT_CONFIG = "config/pulso.yaml"
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulso", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pulso {__version__}")
    parser.add_argument("--log-level", default=os.environ.get("PULSO_LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the daemon (collect, detect, alert)")
    run.add_argument("--config", default=os.environ.get(CONFIG_VAR, DEFAULT_CONFIG))
    run.add_argument("--once", action="store_true", help="run one full cycle and exit")
    check = commands.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pulso` console script."""
    args = _parser().parse_args(argv)
    from monitor.logs import setup_logging

    setup_logging(args.log_level)
    if args.command == "check-config":
        return check_config(args.file)
    return run(args.config, once=args.once)


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


def run(path: str, once: bool) -> int:
    """Start Pulso on the configuration at `path`."""
    settings = _load(path)
    if settings is None:
        sys.stderr.write("pulso: refusing to start with an invalid configuration\n")
        return EXIT_CONFIG
    from monitor.daemon import run_forever, run_once
    from monitor.runtime import build_runtime

    rt = build_runtime(settings)
    try:
        if once:
            return 1 if run_once(rt) else 0
        run_forever(rt)
    finally:
        rt.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
