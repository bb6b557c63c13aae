"""`pulso check-config --online`: ask each enabled notifier whether its settings work.

Only what is as cheap as one call: Slack's `auth.test` (is the token accepted, has it
the scopes Pulso uses). The same check runs when the daemon or a worker starts.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.settings import Settings
from notifiers import NOTIFIERS, RetryableError

EXIT_ONLINE = 1  # the file is valid, but a service refuses it or cannot be asked


def online_problems(path: str, settings: Settings) -> list[str]:
    """One line per problem: `FILE: notifiers.NAME: what is wrong and what to do`."""
    lines: list[str] = []
    for name, config in settings.notifiers.enabled().items():
        where = f"{path}: notifiers.{name}"
        try:
            problems = NOTIFIERS[name](config).check()
        except RetryableError as exc:
            lines.append(f"{where}: cannot check it online: {exc}")
            continue
        lines += [f"{where}: {problem}" for problem in problems]
    return lines


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Silence a client library's own logger: each problem is said once, by us."""
    library = logging.getLogger(name)
    level = library.level
    library.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        library.setLevel(level)


def check_online(path: str, settings: Settings) -> int:
    """Write each problem on stderr; EXIT_ONLINE if there is any, else 0."""
    with _quiet("slack_sdk"):  # it logs an unreachable server at ERROR, traceback-free
        problems = online_problems(path, settings)
    for line in problems:
        sys.stderr.write(line + "\n")
    return EXIT_ONLINE if problems else 0
