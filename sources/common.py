"""What the platform sources share: retries with backoff, and resumable newest-first sweeps.

Most search APIs answer newest first and page backwards. A sweep starts from the newest
post and pages back until it reaches what the previous sweep already saw (`since`).
The cursor saved with each page holds both the finished high-water mark and the sweep in
progress, so a crash in the middle of a sweep resumes where it stopped: no gap (the rest
of the sweep is still fetched) and no duplicate (the store ignores known posts anyway).
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.kernel.records import Mention, utcnow
from monitor.kernel.redact import http_problem, snippet
from sources.base import RateLimited, SourceError

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

T = TypeVar("T")
ATTEMPTS = 3
BASE_DELAY = 1.0
MAX_DELAY = 30.0


class TransientError(SourceError):
    """A 5xx, a timeout or a dropped connection: worth another try soon."""


def with_retries(
    call: Callable[[], T],
    what: str,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run `call`; retry `TransientError` with exponential backoff and jitter.

    `RateLimited` is not retried here: the job gives up until its next tick (or the
    platform's reset time) rather than hammering an API that asked us to slow down.
    After the last attempt the `TransientError` propagates and the job tries next tick.
    """
    import time

    from tenacity import (
        RetryCallState,
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
    )

    jitter = rng or random.Random()

    def wait(state: RetryCallState) -> float:
        delay = min(MAX_DELAY, BASE_DELAY * 2.0 ** (state.attempt_number - 1))
        return float(delay * (0.5 + jitter.random()))

    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning("%s failed (%s), try %d of %d", what, error, state.attempt_number, attempts)

    retrying = Retrying(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(attempts),
        wait=wait,
        sleep=sleep or time.sleep,
        before_sleep=log,
        reraise=True,
    )
    return retrying(call)


@dataclass(frozen=True, slots=True)
class Sweep:
    """Cursor state of a newest-first source.

    `since`: the newest id (or time) fully collected by finished sweeps.
    `top`: the newest id seen by the sweep in progress (becomes `since` when it ends).
    `token`: the platform's token for the next (older) page of the sweep in progress.
    """

    since: str | None = None
    top: str | None = None
    token: str | None = None

    @classmethod
    def load(cls, cursor: str | None) -> Sweep:
        """Parse a saved cursor (None: nothing collected yet)."""
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls(since=cursor)  # a bare id from an older cursor format
        return cls(data.get("since"), data.get("top"), data.get("token"))

    def dump(self) -> str:
        """The cursor to save."""
        return json.dumps({"since": self.since, "top": self.top, "token": self.token})

    @property
    def in_progress(self) -> bool:
        """Whether a sweep stopped in the middle (resume it with `token`)."""
        return self.token is not None

    def after_page(self, newest: str | None, next_token: str | None) -> tuple[Sweep, bool]:
        """The state after one page (`newest`: its newest id); True if the sweep goes on."""
        top = self.top if self.top is not None else newest
        if next_token:
            return replace(self, top=top, token=next_token), True
        return Sweep(since=top if top is not None else self.since), False


def raise_for_status(
    status: int,
    what: str,
    retry_after: float | None = None,
    url: str | None = None,
    reason: object = None,
) -> None:
    """Turn an HTTP status into the source error the pipeline understands.

    The message says "HTTP 401 from <host>: <reason>" and nothing more of the answer: an
    upstream body may echo the request (its Authorization header included), so only a
    short, redacted, single-line `reason` is kept (`monitor.kernel.redact.http_problem`).
    """
    if status < 400:
        return
    problem = http_problem(status, url, reason)
    if status == 429:
        raise RateLimited(f"{what}: rate limited ({problem})", retry_after=retry_after)
    if status >= 500:
        raise TransientError(f"{what}: server error ({problem})")
    raise SourceError(f"{what}: refused ({problem})")


USER_AGENT = "Pulso/1.0 (brand monitoring)"
_BLOCKS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"})


class _TextParser(HTMLParser):
    """Collects the text of an HTML fragment; block elements become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, blank runs folded."""
    if not html:
        return ""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - utcnow()).total_seconds())


def http_get(
    url: str,
    what: str,
    timeout: float,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """GET once with a timeout; map failures to the source errors (304 is returned)."""
    import httpx

    sent = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            response = client.get(url, params=params, headers=sent)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what}: timed out after {timeout:g}s") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{what}: connection failed ({snippet(exc)})") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"{what}: request failed ({snippet(exc)})") from exc
    raise_for_status(
        response.status_code,
        what,
        retry_after(response.headers),
        str(response.url),
        response.reason_phrase,
    )
    return response


# What a mapper raises on a post it cannot map: a missing key or index, a wrong value, a
# field of the wrong JSON type (`.get` on a list), a number or a date out of range
# (`int(inf)`, a Unix time past year 9999). Its source skips that post only: anything
# else would fail the whole page on every run (tests/test_fuzz.py holds mappers to it).
MAPPING_ERRORS: tuple[type[Exception], ...] = (
    LookupError,
    ValueError,
    TypeError,
    AttributeError,
    ArithmeticError,
)


def to_mentions(
    items: Iterable[Mapping[str, Any]],
    to_mention: Callable[[Mapping[str, Any]], Mention],
    log: logging.Logger,
    skipped: str,
    id_key: str,
    languages: tuple[str, ...] = (),
) -> list[Mention]:
    """The items mapped to mentions, keeping those in `languages` (all when it is empty).

    A mention the platform gives no language is kept (scoring detects its language).
    An item that does not map is skipped, logged on the source's own logger as `skipped`
    (a format with the item's `id_key` and the error), so one bad post loses only itself.
    """
    mentions: list[Mention] = []
    for item in items:
        try:
            mention = to_mention(item)
        except MAPPING_ERRORS as exc:
            log.warning(skipped, item.get(id_key), exc)
            continue
        if languages and mention.lang and mention.lang not in languages:
            continue
        mentions.append(mention)
    return mentions


def json_cursor(cursor: str | None, source: str) -> dict[str, Any]:
    """A cursor saved as a JSON object ({} when nothing was collected yet)."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError as exc:
        raise SourceError(f"{source}: unreadable cursor {cursor[:80]!r}") from exc
    if not isinstance(data, dict):
        raise SourceError(f"{source}: unreadable cursor {cursor[:80]!r}")
    return data
