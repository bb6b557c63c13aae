"""One redaction layer: credentials out of every log line, error message and stored error.

Two kinds of things are redacted. Shapes that are credentials wherever they appear
(Authorization and Cookie header values, Bearer and Basic credentials, Slack tokens,
values of fields named like a key, token, secret or password, URL passwords), and the
exact values of the secrets this process has read (`monitor.kernel.secrets` registers
each one as it reads it). The registry is process-wide and thread-safe: logging threads
redact while the config is being (re)loaded.

The logging side is `RedactingFormatter` (format the record, then redact the whole
string: tracebacks of third-party DEBUG loggers included) and `redact_value` for the
fields of a JSON line; the error side is `snippet` and `http_problem`, which keep an
upstream answer to its status, its host and a short, redacted, single-line reason.
"""

from __future__ import annotations

import http
import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

MASK = "[redacted]"
# Shorter values are not registered: masking every "abc" in every log line would hide
# more than it protects. Real tokens and app passwords are far longer.
MIN_SECRET_CHARS = 6
SNIPPET_CHARS = 120

_TOKEN_CHARS = r"[A-Za-z0-9._~+/=:-]"
_HEADER = re.compile(
    r"""(?i)(["']?\b(?:(?:proxy-)?authorization|(?:set-)?cookie|x-api-key))"""
    r"""(["']?[ \t]*[:=][ \t]*["']?)(?:(bearer|basic|token|digest|bot)[ \t]+)?[^"'\r\n,}]+"""
)
# A field that names a secret, in `name=value` (queries, forms) or `"name": "value"` (JSON,
# reprs: the name is quoted). `next_token` and its kin are page cursors, not credentials.
_SECRET_NAME = r"[\w.-]*(?:password|passwd|secret|api[_-]?key|access[_-]?key|private[_-]?key)"
_TOKEN_NAME = (
    r"(?<![\w.-])(?!(?:next|page|pagination|continuation)[_-]?token)[\w.-]*(?:token|key|jwt)"
)
_ASSIGN = r"""(?:[ \t]*=[ \t]*|["'][ \t]*:[ \t]*)["']?"""
# (pattern, replacement): each replacement keeps the name and drops the value.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)[ \t]+(?!tokens?\b)" + _TOKEN_CHARS + "{6,}"), r"\1 " + MASK),
    (
        re.compile(r"\b(Basic)[ \t]+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}"),
        r"\1 " + MASK,
    ),
    # a JSON Web Token: header.payload.signature, both first parts base64url of "{\""
    (re.compile(r"\beyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*"), MASK),
    (re.compile(r"\bxox[abposer]-[A-Za-z0-9-]{6,}"), MASK),
    (re.compile(r"\bxapp-\d-[A-Za-z0-9-]{6,}"), MASK),
    (re.compile(r"(?i)(" + _SECRET_NAME + _ASSIGN + r""")[^\s"'&,;}]+"""), r"\1" + MASK),
    (re.compile(r"(?i)(" + _TOKEN_NAME + _ASSIGN + ")" + _TOKEN_CHARS + "{8,}"), r"\1" + MASK),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*):[^\s/@]+@"), r"\1:" + MASK + "@"),
)


def _header(match: re.Match[str]) -> str:
    name, separator, scheme = match.group(1, 2, 3)
    return f"{name}{separator}{scheme + ' ' if scheme else ''}{MASK}"


class _Registry:
    """The secret values read so far, and one regex that finds any of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            before = len(self._values)
            self._values.update(v for v in values if len(v) >= MIN_SECRET_CHARS)
            if len(self._values) != before:
                ordered = sorted(self._values, key=len, reverse=True)  # longest first
                self.pattern = re.compile("|".join(map(re.escape, ordered)))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self.pattern = None


_REGISTRY = _Registry()


def register_secret(value: str | None) -> None:
    """Remember a secret's value (and its URL- and JSON-escaped forms) to redact it."""
    if not value:
        return
    forms = {value, quote(value, safe=""), json.dumps(value, ensure_ascii=False)[1:-1]}
    _REGISTRY.add(forms)


def forget_secrets() -> None:
    """Forget every registered secret (tests that check one secret at a time)."""
    _REGISTRY.clear()


def redact(text: str) -> str:
    """`text` with credential shapes and every registered secret value masked."""
    if not text:
        return text
    pattern = _REGISTRY.pattern  # one read: a concurrent registration swaps it whole
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _HEADER.sub(_header, text)
    for shape, replacement in _PATTERNS:
        text = shape.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """A JSON-ready value with every string in it redacted (dicts and lists walked)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def snippet(text: object, limit: int = SNIPPET_CHARS) -> str:
    """A short, single-line, redacted excerpt of an upstream answer or error text."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    line = redact(" ".join(str(text).split()))
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def host_of(url: str | None) -> str:
    """The host (and port) of `url`, without user info; "the platform" if it has none."""
    try:
        parts = urlsplit(url or "")
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "the platform"
    if not host:
        return "the platform"
    return f"{host}:{port}" if port else host


def http_problem(status: int, url: str | None, reason: object = None) -> str:
    """ "HTTP 401 from api.x.com: Unauthorized": status, host and a short safe reason.

    `reason` is the platform's own message if it gave one (cut to one redacted line of
    at most 120 characters), else the standard phrase of the status. Never the body.
    """
    text = snippet(reason) if reason else ""
    if not text:
        try:
            text = http.HTTPStatus(status).phrase
        except ValueError:
            text = "unexpected status"
    return f"HTTP {status} from {host_of(url)}: {text}"


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then redacts the whole line (message, traceback, stack)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's line, redacted."""
        return redact(self.inner.format(record))
