"""Mastodon source: hashtag timelines on chosen instances, paged forward (Mastodon.py)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from monitor.kernel.records import Batch, Mention, parse_utc, utcnow
from monitor.kernel.redact import http_problem, snippet
from monitor.kernel.secrets import secret_field
from sources.base import Query, RateLimited, Source, SourceError, SourceSettings
from sources.common import TransientError, html_to_text, json_cursor, to_mentions, with_retries

logger = logging.getLogger(__name__)

TOKEN_VAR = "PULSO_MASTODON_ACCESS_TOKEN"
PACKAGE_HINT = "the mastodon source needs Mastodon.py: pip install 'Mastodon.py>=2'"
SKIPPED = "mastodon: skipped a malformed status %s: %s"
_TAG_CHARS = re.compile(r"[^\w]+", re.UNICODE)
T = TypeVar("T")


class MastodonSettings(SourceSettings):
    """Mastodon settings. An optional token comes only from `PULSO_MASTODON_ACCESS_TOKEN`.

    ```yaml
    sources:
      mastodon:
        instances: ["https://mastodon.social", "https://fosstodon.org"]
        hashtags: [paquetto, paquettoexpress]  # added to tags derived from the keywords
        page_size: 40        # statuses per request (Mastodon caps it at 40)
        max_pages: 5         # pages per instance and tag in one collection run
        timeout_seconds: 10
    ```
    """

    instances: tuple[str, ...] = ("https://mastodon.social",)
    hashtags: tuple[str, ...] = ()
    page_size: int = Field(default=40, ge=1, le=40)
    max_pages: int = Field(default=5, ge=1, le=100)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    local_only: bool = False
    search: bool = Field(
        default=False,
        description="also full-text search statuses (needs a token; Mastodon 4.2+ finds only "
        "posts whose authors opted in to search)",
    )
    lookback_hours: float = Field(
        default=24.0, gt=0, le=24 * 30, description="how far back a hashtag's first sweep goes"
    )
    token: SecretStr | None = Field(default=None, validate_default=True)

    @field_validator("instances")
    @classmethod
    def _instances(cls, instances: tuple[str, ...]) -> tuple[str, ...]:
        if not instances:
            raise ValueError("list at least one instance, e.g. https://mastodon.social")
        for url in instances:
            if not url.startswith(("http://", "https://")) or not urlsplit(url).netloc:
                raise ValueError(f"{url!r} is not an http(s) URL such as https://mastodon.social")
        return tuple(url.rstrip("/") for url in instances)

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, hashtags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(tag for tag in (hashtag_of(t) for t in hashtags) if tag)

    # Public hashtag timelines need no token, so a missing one is fine here.
    _token = secret_field("token", var=TOKEN_VAR, required=False)


def hashtag_of(term: str) -> str:
    """The Mastodon hashtag for a keyword, handle or tag ("Paquetto Express" -> paquettoexpress)."""
    return _TAG_CHARS.sub("", term.strip().lstrip("#@")).lower()


def hashtags_for(query: Query, extra: tuple[str, ...] = ()) -> list[str]:
    """The hashtags to follow for a query: its keywords as tags, then `extra`, deduplicated."""
    tags = [hashtag_of(keyword) for keyword in query.keywords] + list(extra)
    return list(dict.fromkeys(tag for tag in tags if tag))


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return parse_utc(value.isoformat())
    if isinstance(value, str):
        return parse_utc(value)
    raise ValueError(f"created_at is not a time: {value!r}")


def status_to_mention(status: Mapping[str, Any]) -> Mention:
    """Map one Mastodon Status entity to a Mention (a reblog carries the reblogged post)."""
    reblog = status.get("reblog")
    post: Mapping[str, Any] = reblog if isinstance(reblog, Mapping) else status
    account = status.get("account") or {}
    followers = account.get("followers_count")
    quote = post.get("quote")
    parent = post.get("in_reply_to_id")
    return Mention(
        source="mastodon",
        # The ActivityPub URI is the same on every instance; local ids are not.
        external_id=str(status.get("uri") or status["id"]),
        text=html_to_text(str(post.get("content") or "")),
        created_at=_time(status["created_at"]),
        url=post.get("url") or post.get("uri"),
        author_handle=account.get("acct") or None,
        author_name=account.get("display_name") or None,
        author_followers=_int(followers) if followers is not None else None,
        lang=post.get("language") or None,
        likes=_int(post.get("favourites_count")),
        reposts=_int(post.get("reblogs_count")),
        replies=_int(post.get("replies_count")),
        is_repost=isinstance(reblog, Mapping),
        is_quote=isinstance(quote, Mapping) and quote.get("quoted_status") is not None,
        parent_id=str(parent) if parent is not None else None,
    )


def status_id_at(when: datetime) -> str:
    """The smallest status id Mastodon can give a post made at `when` (ids are snowflakes:
    milliseconds since the epoch shifted left by 16 bits), so `min_id` can start at a time."""
    return str(int(when.timestamp() * 1000) << 16)


def _id_key(status_id: str) -> tuple[int, str]:
    # Mastodon ids are numeric strings of varying length: compare them as numbers.
    return (len(status_id), status_id)


def _retry_after(client: Any) -> float | None:
    """Seconds until the rate limit window resets, from the X-RateLimit-Reset Mastodon.py read."""
    reset = getattr(client, "ratelimit_reset", None)
    if not isinstance(reset, int | float):
        return None
    return max(0.0, float(reset) - time.time())


def _call(call: Callable[[], T], what: str, client: Any) -> T:
    """Run a Mastodon.py call, turning its errors into the source errors."""
    from mastodon import errors

    try:
        return call()
    except errors.MastodonRatelimitError as exc:
        problem = _problem(exc, client)
        raise RateLimited(f"{what}: rate limited ({problem})", _retry_after(client)) from exc
    except errors.MastodonServerError as exc:
        raise TransientError(f"{what}: server error ({_problem(exc, client)})") from exc
    except errors.MastodonNetworkError as exc:
        raise TransientError(f"{what}: network error ({snippet(exc)})") from exc
    except errors.MastodonAPIError as exc:
        raise SourceError(
            f"{what}: refused or unreadable answer ({_problem(exc, client)})"
        ) from exc
    except errors.MastodonError as exc:
        raise SourceError(f"{what}: {snippet(exc)}") from exc


def _problem(exc: Exception, client: Any) -> str:
    """ "HTTP 401 from <instance>: <its error>", short and redacted, when Mastodon.py says
    which answer it was (its args: message, status, reason, the body's error)."""
    args = exc.args
    if len(args) >= 4 and isinstance(args[1], int):
        reason = args[3] or args[2]
        return http_problem(args[1], getattr(client, "api_base_url", None), reason)
    return snippet(exc)


class MastodonSource(Source[MastodonSettings]):
    """Follows the brand's hashtags on each instance, oldest unseen page first."""

    name: ClassVar[str] = "mastodon"
    Settings: ClassVar[type[SourceSettings]] = MastodonSettings
    lookback_setting: ClassVar[str | None] = "lookback_hours"
    requires: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("mastodon", "Mastodon.py", "pulso[mastodon]"),
    )

    def __init__(
        self, settings: MastodonSettings, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(settings)
        self.clock = clock or utcnow
        self._clients: dict[str, Any] = {}
        self._pages_in_run = 0

    def client(self, instance: str) -> Any:
        """The Mastodon.py client of an instance, built once; rate limits raise, never sleep."""
        if instance not in self._clients:
            try:
                from mastodon import Mastodon
            except ImportError as exc:
                raise SourceError(PACKAGE_HINT) from exc
            token = self.settings.token
            self._clients[instance] = Mastodon(
                api_base_url=instance,
                access_token=token.get_secret_value() if token else None,
                ratelimit_method="throw",
                request_timeout=self.settings.timeout_seconds,
                version_check_mode="none",
                user_agent="pulso",
            )
        return self._clients[instance]

    def fetch(self, query: Query, cursor: str | None) -> Batch:
        """One page per instance and hashtag, each newer than that stream's saved id."""
        state = _load(cursor)
        mentions: list[Mention] = []
        more = False
        failures: list[SourceError] = []
        for instance in self.settings.instances:
            seen = state.setdefault(instance, {})
            for tag in _stream_keys(self.settings, query):
                start = seen.get(tag) or status_id_at(self.clock() - self._lookback())
                try:
                    page = self._page(instance, tag, start)
                except SourceError as exc:
                    failures.append(exc)
                    continue
                # An empty page still pins where the next fetch starts: no gap after it.
                seen[tag] = max((str(s["id"]) for s in page), key=_id_key, default=start)
                mentions.extend(
                    to_mentions(page, status_to_mention, logger, SKIPPED, "id", query.languages)
                )
                more = more or len(page) >= self.settings.page_size
        if failures and len(failures) == _streams(self.settings, query):
            self._pages_in_run = 0
            raise next((f for f in failures if isinstance(f, RateLimited)), failures[0])
        for failure in failures:
            logger.warning("mastodon: one stream failed, the others went on: %s", failure)
        self._pages_in_run = self._pages_in_run + 1 if more else 0
        if self._pages_in_run >= self.settings.max_pages:
            self._pages_in_run, more = 0, False  # the rest waits for the next tick
        logger.info("mastodon: %d statuses for %s", len(mentions), query.brand)
        return Batch(mentions=mentions, cursor=json.dumps(state, sort_keys=True), more=more)

    def _lookback(self) -> timedelta:
        return timedelta(hours=self.settings.lookback_hours)

    def _page(self, instance: str, tag: str, since: str | None) -> list[Any]:
        term = tag.removeprefix(SEARCH)
        searching = tag.startswith(SEARCH)
        what = f"mastodon {urlsplit(instance).netloc} " + (
            f"search {term!r}" if searching else f"#{tag}"
        )
        client = self.client(instance)
        size = self.settings.page_size

        def call() -> list[Any]:
            # min_id pages forward from the saved id: no gap even after a burst.
            if searching:
                found = client.search_v2(
                    term,
                    resolve=False,
                    result_type="statuses",
                    min_id=since,
                    limit=size,
                    exclude_unreviewed=False,  # only about hashtags; skips a version lookup
                )
                return list(found.get("statuses") or [])
            return list(
                client.timeline_hashtag(
                    tag, min_id=since, limit=size, local=self.settings.local_only
                )
            )

        page = with_retries(lambda: _call(call, what, client), what)
        if not all(isinstance(s, Mapping) and "id" in s for s in page):
            raise SourceError(f"{what}: the answer is not a list of statuses")
        return page


SEARCH = "search:"


def _stream_keys(settings: MastodonSettings, query: Query) -> list[str]:
    """One stream per hashtag, and with `search` one per keyword (`search:<keyword>`)."""
    keys = hashtags_for(query, settings.hashtags)
    if settings.search:
        terms = (k.strip().lstrip("#@") for k in query.keywords)
        keys += [f"{SEARCH}{t}" for t in dict.fromkeys(terms) if t]
    return keys


def _streams(settings: MastodonSettings, query: Query) -> int:
    return len(settings.instances) * len(_stream_keys(settings, query))


def _load(cursor: str | None) -> dict[str, dict[str, str]]:
    """The saved {instance: {hashtag: newest id}} map (empty when nothing was collected)."""
    data = json_cursor(cursor, "mastodon")
    return {
        str(instance): {str(tag): str(i) for tag, i in tags.items()}
        for instance, tags in data.items()
        if isinstance(tags, dict)
    }
