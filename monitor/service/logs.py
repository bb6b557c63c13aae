"""Logging setup for the command line: readable lines on stderr, or JSON lines for collectors.

`PULSO_LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message,
exception, and any JSON-ready `extra` fields). Every line goes through the one redaction
layer (`monitor.kernel.redact`) after it is formatted, whichever logger wrote it: tweepy,
prawcore, httpx or urllib3 at DEBUG print request headers, and an upstream error body
may echo them. Text lines are redacted whole; a JSON line field by field, so it stays JSON.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from monitor.kernel.redact import RedactingFormatter, redact_value

FORMAT_VAR = "PULSO_LOG_FORMAT"
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# What every LogRecord carries; anything else on a record came in through `extra`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (ISO-8601 UTC), level, logger, message, exception.

    Every string in it is redacted before it is encoded (a secret inside an escaped JSON
    string would not be found in the encoded line).
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and _json_ready(value):
                entry[key] = value
        return json.dumps(redact_value(entry), ensure_ascii=False)


def _json_ready(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def log_format(environ: Mapping[str, str] | None = None) -> str:
    """The format `PULSO_LOG_FORMAT` asks for; an unknown one is reported and gives text."""
    raw = (os.environ if environ is None else environ).get(FORMAT_VAR, "")
    wanted = raw.strip().lower() or "text"
    if wanted not in FORMATS:
        sys.stderr.write(
            f"pulso: {FORMAT_VAR}={raw!r} is not one of {', '.join(FORMATS)}; logging as text\n"
        )
        return "text"
    return wanted


def formatter(fmt: str) -> logging.Formatter:
    """The redacting formatter of a format: JSON lines for "json", else text lines."""
    if fmt == "json":
        return JsonFormatter()
    return RedactingFormatter(logging.Formatter(TEXT_FORMAT))


def setup_logging(level: str = "INFO", fmt: str | None = None) -> None:
    """Log to stderr (text, or JSON lines per `PULSO_LOG_FORMAT`), redacted; quiet the
    chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt or log_format()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # procrastinate logs every job at INFO: thousands of lines an hour in scaled mode.
    for noisy in ("apscheduler", "alembic", "slack_sdk", "urllib3", "procrastinate"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
