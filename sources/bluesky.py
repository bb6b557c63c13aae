"""Bluesky source: app.bsky.feed.searchPosts, newest first, in resumable sweeps (atproto)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from pydantic import Field, SecretStr

from monitor.kernel.records import Batch, Mention, parse_utc, utcnow
from monitor.kernel.redact import http_problem, snippet
from monitor.kernel.secrets import secret_field, url_field
from sources.base import Query, RateLimited, Source, SourceError, SourceSettings
from sources.common import Sweep, TransientError, json_cursor, to_mentions, with_retries

logger = logging.getLogger(__name__)

HANDLE_VAR = "PULSO_BLUESKY_HANDLE"
PASSWORD_VAR = "PULSO_BLUESKY_APP_PASSWORD"
PACKAGE_HINT = "the bluesky source needs atproto: pip install atproto"
SKIPPED = "bluesky: skipped a malformed post %s: %s"
QUOTE_EMBEDS = frozenset({"app.bsky.embed.record#view", "app.bsky.embed.recordWithMedia#view"})
T = TypeVar("T")


class BlueskySettings(SourceSettings):
    """Bluesky settings. Log in with `PULSO_BLUESKY_HANDLE` and `PULSO_BLUESKY_APP_PASSWORD`.

    ```yaml
    sources:
      bluesky:
        service_url: https://bsky.social   # the PDS that creates the session
        page_size: 100       # posts per request (at most 100)
        max_pages: 10        # pages per keyword in one collection run
        lookback_hours: 24   # how far back the very first sweep goes
        timeout_seconds: 10
    ```
    """

    service_url: str = "https://bsky.social"
    page_size: int = Field(default=100, ge=1, le=100)
    max_pages: int = Field(default=10, ge=1, le=100)
    lookback_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    handle: str = Field(default="", validate_default=True)
    app_password: SecretStr = Field(default=None, validate_default=True)

    _service_url = url_field("service_url", example="https://bsky.social")
    _handle = secret_field("handle", var=HANDLE_VAR, blank_is_unset=True)
    _password = secret_field("app_password", var=PASSWORD_VAR)


def search_terms(query: Query) -> list[str]:
    """One search string per keyword: phrases quoted, hashtags kept, exclusions negated."""
    negatives = [f'-"{e}"' if " " in e.strip() else f"-{e.strip()}" for e in query.exclusions]
    terms: list[str] = []
    for keyword in query.keywords:
        word = keyword.strip().lstrip("@")
        if not word:
            continue
        term = f'"{word}"' if " " in word else word
        terms.append(" ".join([term, *negatives]))
    return list(dict.fromkeys(terms))


def post_url(uri: str, handle: str | None, did: str | None) -> str | None:
    """The bsky.app address of an at:// post URI."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post":
        return None
    return f"https://bsky.app/profile/{handle or did or parts[0]}/post/{parts[2]}"


def sort_time(post: Mapping[str, Any]) -> datetime:
    """The time the search API sorts by: the earlier of createdAt and indexedAt."""
    indexed = parse_utc(str(post["indexedAt"]))
    created = (post.get("record") or {}).get("createdAt")
    try:
        return min(indexed, parse_utc(str(created))) if created else indexed
    except ValueError:
        return indexed


def _count(value: Any) -> int:
    return value if isinstance(value, int) else 0


def post_to_mention(post: Mapping[str, Any]) -> Mention:
    """Map one app.bsky.feed.defs#postView to a Mention."""
    record = post.get("record") or {}
    author = post.get("author") or {}
    handle = author.get("handle")
    handle = None if handle in (None, "", "handle.invalid") else str(handle)
    created = record.get("createdAt") or post["indexedAt"]
    langs = record.get("langs") or []
    parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
    embed_type = (post.get("embed") or {}).get("$type")
    followers = author.get("followersCount")
    return Mention(
        source="bluesky",
        external_id=str(post["uri"]),
        text=str(record.get("text") or ""),
        created_at=parse_utc(str(created)),
        url=post_url(str(post["uri"]), handle, author.get("did")),
        author_handle=handle,
        author_name=author.get("displayName") or None,
        author_followers=followers if isinstance(followers, int) else None,
        lang=str(langs[0]) if langs else None,
        likes=_count(post.get("likeCount")),
        reposts=_count(post.get("repostCount")),
        replies=_count(post.get("replyCount")),
        is_repost=False,  # search returns posts, never reposts
        is_quote=embed_type in QUOTE_EMBEDS,
        parent_id=str(parent) if parent else None,
    )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _call(call: Callable[[], T], what: str, url: str | None = None) -> T:
    """Run an atproto call, turning its errors into the source errors (`url`: the
    service's, to name its host)."""
    from atproto_client import exceptions  # type: ignore[import-untyped]

    try:
        return call()
    except exceptions.RateLimitExceededError as exc:
        retry_after = exc.retry_after
        if retry_after is None and exc.reset_at is not None:
            retry_after = max(0.0, (exc.reset_at - utcnow()).total_seconds())
        problem = http_problem(429, url, "rate limited")
        raise RateLimited(f"{what}: rate limited ({problem})", retry_after) from exc
    except exceptions.NetworkError as exc:  # timeouts, dropped connections, 502
        raise TransientError(f"{what}: network error ({_problem(exc, url)})") from exc
    except exceptions.RequestErrorBase as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status >= 500:
            raise TransientError(f"{what}: server error ({_problem(exc, url)})") from exc
        raise SourceError(f"{what}: refused ({_problem(exc, url)})") from exc
    except exceptions.AtProtocolError as exc:
        raise SourceError(f"{what}: {type(exc).__name__} {snippet(exc)}") from exc
    except ValueError as exc:  # the body said JSON but was not
        raise SourceError(f"{what}: the answer is not valid JSON ({snippet(exc)})") from exc


def _problem(exc: Any, url: str | None) -> str:
    """ "HTTP 400 from bsky.social: <its message>", short and redacted (the body is never
    kept whole: it may echo the request, session token included); for an error with no
    answer, its kind and text."""
    response = exc.response
    if response is None:
        return f"{type(exc).__name__} {snippet(exc)}"
    content = response.content
    if isinstance(content, dict):
        reason = content.get("message") or content.get("error")
    elif isinstance(content, bytes):
        reason = None  # an unparsed body: the status phrase says enough
    else:
        reason = getattr(content, "message", None) or getattr(content, "error", None)
    return http_problem(response.status_code, url, reason)


class BlueskySource(Source[BlueskySettings]):
    """Searches each keyword newest first and pages back to what the last sweep saw."""

    name: ClassVar[str] = "bluesky"
    Settings: ClassVar[type[SourceSettings]] = BlueskySettings
    requires: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("atproto", "atproto", "pulso[bluesky]"),
    )
    lookback_setting: ClassVar[str | None] = "lookback_hours"

    def __init__(self, settings: BlueskySettings) -> None:
        super().__init__(settings)
        self._client: Any = None
        self._pages_in_run = 0
        self._finished: set[str] = set()

    def client(self) -> Any:
        """A logged-in atproto Client, built once (timeouts on every request)."""
        if self._client is None:
            try:
                from atproto import Client  # type: ignore[import-untyped]
                from atproto_client.request import Request  # type: ignore[import-untyped]
            except ImportError as exc:
                raise SourceError(PACKAGE_HINT) from exc
            client = Client(
                base_url=self.settings.service_url,
                request=Request(timeout=self.settings.timeout_seconds),
            )
            password = self.settings.app_password.get_secret_value()

            def login() -> None:
                client.login(self.settings.handle, password, fetch_bsky_profile=False)

            url = self.settings.service_url
            with_retries(lambda: _call(login, "bluesky login", url), "bluesky login")
            self._client = client
        return self._client

    def fetch(self, query: Query, cursor: str | None) -> Batch:
        """One page for each keyword whose sweep is not finished in this run."""
        states = _load(cursor)
        mentions: list[Mention] = []
        for term in search_terms(query):
            state = states.get(term) or Sweep(since=_stamp(utcnow() - self._lookback()))
            if term in self._finished and not state.in_progress:
                continue
            posts, token = self._page(term, state, query.languages)
            newest = max((sort_time(p) for p in posts), default=None)
            state, going_on = state.after_page(_stamp(newest) if newest else None, token)
            states[term] = state
            if not going_on:
                self._finished.add(term)
            known = {m.external_id for m in mentions}
            found = to_mentions(posts, post_to_mention, logger, SKIPPED, "uri", query.languages)
            mentions.extend(m for m in found if m.external_id not in known)
        more = any(s.in_progress for s in states.values())
        self._pages_in_run += 1
        if not more or self._pages_in_run >= self.settings.max_pages:
            # The run ends; an unfinished sweep resumes from its token next tick.
            self._pages_in_run, self._finished, more = 0, set(), False
        logger.info("bluesky: %d posts for %s", len(mentions), query.brand)
        dumped = {term: json.loads(state.dump()) for term, state in states.items()}
        return Batch(mentions=mentions, cursor=json.dumps(dumped, sort_keys=True), more=more)

    def _lookback(self) -> timedelta:
        return timedelta(hours=self.settings.lookback_hours)

    def _page(
        self, term: str, state: Sweep, languages: tuple[str, ...]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of posts strictly newer than `state.since`, and the next page's token."""
        from atproto import models
        from atproto_client import exceptions

        params = models.AppBskyFeedSearchPosts.Params(
            q=term,
            sort="latest",
            since=state.since,
            # Pin the sweep in progress to its first page, so new posts do not shift its pages.
            until=_stamp(parse_utc(state.top) + timedelta(milliseconds=1))
            if state.in_progress and state.top
            else None,
            cursor=state.token,
            limit=self.settings.page_size,
            lang=languages[0] if len(languages) == 1 else None,
        )
        client = self.client()
        what = f"bluesky search {term!r}"

        def call() -> Any:
            return client.invoke_query(
                "app.bsky.feed.searchPosts", params=params, output_encoding="application/json"
            )

        try:
            url = self.settings.service_url
            content = with_retries(lambda: _call(call, what, url), what).content
        except SourceError as exc:
            if isinstance(
                exc.__cause__, exceptions.UnauthorizedError | exceptions.LoginRequiredError
            ):
                self._client = None  # an expired or revoked session: log in again next tick
            raise
        posts = content.get("posts") if isinstance(content, dict) else None
        if not isinstance(posts, list) or not all(
            isinstance(p, dict) and "uri" in p and "indexedAt" in p for p in posts
        ):
            raise SourceError(f"{what}: the answer is not a list of posts")
        since = parse_utc(state.since) if state.since else None
        # `since` is inclusive: drop what the previous sweep already ended on.
        fresh = [p for p in posts if since is None or sort_time(p) > since]
        token = content.get("cursor")
        return fresh, (str(token) if token and posts else None)


def _load(cursor: str | None) -> dict[str, Sweep]:
    """The saved {search term: sweep} map (empty when nothing was collected)."""
    data = json_cursor(cursor, "bluesky")
    return {str(term): Sweep.load(json.dumps(sweep)) for term, sweep in data.items()}
