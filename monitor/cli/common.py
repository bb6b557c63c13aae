"""What the `pulso` commands share: reading the configuration, the exit codes."""

from __future__ import annotations

import sys

from monitor.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def load(path: str) -> Settings | None:
    """The settings at `path`, or None after writing each problem on a line of stderr."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        for line in exc.errors:
            sys.stderr.write(line + "\n")
        return None
