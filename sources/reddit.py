"""Reddit source: keyword search (newest first) and new comments in chosen subreddits, via praw.

Reddit lists newest first and pages back with `after`. Each stream (posts, comments) keeps
its own sweep: the high-water mark is a creation second plus the ids seen at that second,
so posts created in the same second as the mark are neither lost nor collected twice
(that state is `sources.reddit_sweep`).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from pydantic import Field, SecretStr, field_validator

from monitor.kernel.records import Batch, Mention, from_unix
from monitor.kernel.redact import http_problem, snippet
from monitor.kernel.secrets import secret_field, url_field
from sources.base import Query, RateLimited, Requirements, Source, SourceError, SourceSettings
from sources.common import MAPPING_ERRORS, TransientError, raise_for_status, with_retries
from sources.reddit_sweep import Mark, StreamState

logger = logging.getLogger(__name__)

CLIENT_ID_VAR = "PULSO_REDDIT_CLIENT_ID"
CLIENT_SECRET_VAR = "PULSO_REDDIT_CLIENT_SECRET"
PERMALINK_BASE = "https://www.reddit.com"
MAX_QUERY_CHARS = 512  # Reddit rejects longer search queries
_SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
_DELETED = frozenset({"", "[deleted]", "[removed]"})


class RedditSettings(SourceSettings):
    """Reddit settings. Credentials come only from the environment (see README).

    ```yaml
    sources:
      reddit:
        subreddits: [all]   # or [france, paris]: searched together (r/france+paris)
        search: true        # posts by keyword search; false: every new post there
        comments: false     # also every new comment there (the brand is matched later)
        user_agent: "python:pulso:v1 (by /u/your_account)"
        page_size: 100
        max_pages: 10       # per sweep; Reddit's listings stop at about 1000 items
        timeout_seconds: 10
    ```
    """

    subreddits: tuple[str, ...] = Field(default=("all",), min_length=1)
    search: bool = True
    comments: bool = False
    user_agent: str = Field(default="python:pulso:v1 (self-hosted brand monitoring)", min_length=10)
    page_size: int = Field(default=100, ge=1, le=100)
    max_pages: int = Field(default=10, ge=1, le=50)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    client_id: SecretStr = Field(default=None, validate_default=True)
    client_secret: SecretStr = Field(default=None, validate_default=True)

    @field_validator("subreddits")
    @classmethod
    def _subreddits(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(re.sub(r"^/?r/", "", name.strip()) for name in names)
        for name in cleaned:
            if not _SUBREDDIT.match(name):
                raise ValueError(f"{name!r} is not a subreddit name such as all or france")
        if "all" in cleaned and len(cleaned) > 1:
            raise ValueError("`all` already covers every subreddit: list it alone")
        return cleaned

    _url = url_field("oauth_url", "reddit_url")
    _client_id = secret_field("client_id", var=CLIENT_ID_VAR)
    _client_secret = secret_field("client_secret", var=CLIENT_SECRET_VAR)


def _term(word: str) -> str:
    """One search term: hashtags and handles lose their sigil, phrases are quoted."""
    bare = word.strip().lstrip("#@").replace('"', "")
    return bare if re.fullmatch(r"\w+", bare) else f'"{bare}"'


def build_query(query: Query) -> str:
    """Reddit search syntax: any keyword, none of the exclusions (languages: unsupported)."""
    terms = [_term(k) for k in query.keywords if k.strip()]
    if not terms:
        raise SourceError(f"reddit: brand {query.brand} has no keyword to search for")
    text = " OR ".join(terms)
    if len(terms) > 1 and query.exclusions:
        text = f"({text})"
    text += "".join(f" NOT {_term(word)}" for word in query.exclusions if word.strip())
    if len(text) > MAX_QUERY_CHARS:
        raise SourceError(f"reddit: the search for {query.brand} exceeds {MAX_QUERY_CHARS} chars")
    return text


def _author(data: Mapping[str, Any]) -> str | None:
    author = data.get("author")
    return None if not isinstance(author, str) or author in _DELETED else author


def to_mention(thing: Mapping[str, Any]) -> Mention:
    """Map a listing child (`{"kind": "t3" | "t1", "data": {...}}`) to a Mention."""
    kind, data = thing["kind"], thing["data"]
    if kind not in ("t1", "t3"):
        raise ValueError(f"not a post or a comment: kind {kind!r}")
    permalink = data.get("permalink")
    common: dict[str, Any] = {
        "source": "reddit",
        "external_id": str(data["name"]),
        "created_at": from_unix(float(data["created_utc"])),
        "url": PERMALINK_BASE + permalink if isinstance(permalink, str) else None,
        "author_handle": _author(data),
        # Downvoted items report a negative score; likes count upvotes only.
        "likes": max(0, int(data.get("score") or 0)),
    }
    if kind == "t1":
        return Mention(text=str(data["body"]), parent_id=data.get("parent_id"), **common)
    selftext = data.get("selftext") or ""
    text = f"{data['title']}\n\n{selftext}" if selftext else str(data["title"])
    return Mention(
        text=text,
        replies=int(data.get("num_comments") or 0),
        reposts=int(data.get("num_crossposts") or 0),
        is_repost=bool(data.get("crosspost_parent")),
        **common,
    )


def load_cursor(cursor: str | None) -> dict[str, Any]:
    """The saved cursor as a dict (a cursor that is not ours starts over)."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        logger.warning("reddit: ignoring an unreadable cursor %r", cursor[:80])
        return {}
    return data


class _Gauge:
    """The rate-limit headers of the last response, so we stop instead of sleeping."""

    def __init__(self) -> None:
        self.remaining: float | None = None
        self.reset_at = 0.0

    def record(self, headers: Mapping[str, str]) -> None:
        """Remember `x-ratelimit-remaining` and when the window resets."""
        try:
            remaining = float(headers["x-ratelimit-remaining"])
            reset = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return
        self.remaining, self.reset_at = remaining, time.monotonic() + reset

    def wait(self) -> float | None:
        """Seconds until a request is allowed again, or None if one is allowed now."""
        left = self.reset_at - time.monotonic()
        if self.remaining is not None and self.remaining < 1 and left > 0:
            return left
        return None


class RedditSource(Source[RedditSettings]):
    """Newest posts matching the brand (search) and, optionally, new comments in subreddits."""

    name: ClassVar[str] = "reddit"
    Settings: ClassVar[type[SourceSettings]] = RedditSettings
    requires: ClassVar[Requirements] = (("praw", "praw", "praw"),)

    def __init__(self, settings: RedditSettings) -> None:
        super().__init__(settings)
        self.sleep: Callable[[float], None] = time.sleep
        self._gauge = _Gauge()
        self._client: Any = None

    def streams(self) -> list[str]:
        """The streams a sweep goes through, in order."""
        return ["posts", "comments"] if self.settings.comments else ["posts"]

    def fetch(self, query: Query, cursor: str | None) -> Batch:
        """Fetch one page of the stream whose turn it is; `more` while a sweep goes on."""
        saved = load_cursor(cursor)
        streams = self.streams()
        turn = str(saved.get("turn")) if saved.get("turn") in streams else streams[0]
        state = StreamState.load(saved.get(turn))
        path, params = self._request(turn, query, state.token)
        what = f"reddit {turn} for {query.brand}"
        listing = with_retries(lambda: self._get(path, params), what, sleep=self.sleep)
        mentions, state, going_on = self._sweep(turn, state, listing)
        saved[turn] = state.dump()
        more = going_on
        if not going_on:
            following = streams.index(turn) + 1
            more = following < len(streams)
            saved["turn"] = streams[following] if more else streams[0]
        else:
            saved["turn"] = turn
        logger.info("reddit %s for %s: %d new", turn, query.brand, len(mentions))
        return Batch(mentions=mentions, cursor=json.dumps(saved, sort_keys=True), more=more)

    def _request(self, turn: str, query: Query, after: str | None) -> tuple[str, dict[str, Any]]:
        settings = self.settings
        subreddits = "+".join(settings.subreddits)
        params: dict[str, Any] = {"limit": settings.page_size}
        if after:
            params["after"] = after
        if turn == "comments":
            return f"r/{subreddits}/comments/", params
        if not settings.search:
            return f"r/{subreddits}/new/", params
        params.update(q=build_query(query), sort="new", t="all", type="link")
        if subreddits != "all":
            params["restrict_sr"] = "on"
        return f"r/{subreddits}/search/", params

    def _sweep(
        self, turn: str, state: StreamState, listing: Mapping[str, Any]
    ) -> tuple[list[Mention], StreamState, bool]:
        """Keep the page's items newer than the mark; decide whether to page further back."""
        mentions: list[Mention] = []
        reached_old = False
        for child in listing["children"]:
            try:
                mention = to_mention(child)
            except MAPPING_ERRORS as exc:
                logger.warning("reddit: skipped a malformed item: %s", exc)
                continue
            second = math.floor(mention.created_at.timestamp())
            if state.since and state.since.covers(second, mention.external_id):
                # Only an older second ends the sweep: the mark's second may hold more items.
                reached_old = reached_old or second < state.since.second
                continue
            mentions.append(mention)
        start = state.top or state.since or Mark(0, frozenset())
        items = ((math.floor(m.created_at.timestamp()), m.external_id) for m in mentions)
        top = start.merge(items)
        after = listing.get("after")
        pages = state.pages + 1
        if after and not reached_old and pages < self.settings.max_pages:
            return mentions, replace(state, top=top, token=str(after), pages=pages), True
        if after and not reached_old:
            logger.warning(
                "reddit %s: stopped after %d pages; older items are skipped", turn, pages
            )
        since = top if top.ids else state.since
        return mentions, StreamState(since=since), False

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One listing request, with praw's errors turned into the source errors."""
        wait = self._gauge.wait()
        if wait is not None:
            raise RateLimited("reddit: request budget used up", retry_after=math.ceil(wait))
        client = self.client()
        from prawcore import exceptions as core

        try:
            payload = client.request(method="GET", path=path, params=params)
        except core.TooManyRequests as exc:
            problem = http_problem(429, exc.response.url)
            raise RateLimited(f"reddit: rate limited ({problem})", _retry_after(exc)) from exc
        except core.BadJSON as exc:
            raise SourceError(f"reddit: {path} answered malformed JSON") from exc
        except core.ResponseException as exc:
            _raise_response(exc, path)
        except core.RequestException as exc:
            cause = snippet(repr(exc.original_exception))
            raise TransientError(f"reddit: {path}: {cause}") from exc
        except core.PrawcoreException as exc:
            raise SourceError(f"reddit: {path}: {snippet(exc)}") from exc
        except ValueError as exc:  # the token endpoint's malformed JSON
            raise SourceError(
                f"reddit: malformed JSON from the token endpoint: {snippet(exc)}"
            ) from exc
        return _listing(payload, path)

    def client(self) -> Any:
        """The praw client, built once (app-only OAuth, client credentials grant)."""
        if self._client is None:
            self._client = _build_client(self.settings, self._gauge)
        return self._client


def _listing(payload: Any, path: str) -> dict[str, Any]:
    """The `data` of a Listing, checked for the fields a sweep reads."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if (
        not isinstance(payload, dict)
        or payload.get("kind") != "Listing"
        or not isinstance(data, dict)
        or not isinstance(data.get("children"), list)
    ):
        raise SourceError(f"reddit: {path} did not answer a Listing: {snippet(payload)}")
    return data


def _retry_after(exc: Any) -> float | None:
    headers = exc.response.headers
    for name in ("retry-after", "x-ratelimit-reset"):
        try:
            return float(headers[name])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _raise_response(exc: Any, path: str) -> None:
    from prawcore.const import ACCESS_TOKEN_PATH

    status = exc.response.status_code
    if status in (401, 403) and exc.response.url.endswith(ACCESS_TOKEN_PATH):
        raise SourceError(
            f"reddit: credentials refused (HTTP {status}): check {CLIENT_ID_VAR}"
            f" and {CLIENT_SECRET_VAR}"
        ) from exc
    if status == 401:  # prawcore dropped the expired token: the next try gets a new one
        raise TransientError("reddit: access token rejected (HTTP 401)") from exc
    raise_for_status(status, f"reddit: {path}", url=exc.response.url, reason=exc.response.reason)
    raise SourceError(f"reddit: {path}: unexpected HTTP {status}") from exc


def _build_client(settings: RedditSettings, gauge: _Gauge) -> Any:
    try:
        import praw
        from prawcore import Requestor
        from prawcore.sessions import FiniteRetryStrategy
    except ImportError as exc:
        raise SourceError("reddit: the praw package is missing: pip install praw") from exc

    class GaugedRequestor(Requestor):
        """Applies `timeout_seconds` to every call and records the rate-limit headers."""

        def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
            # prawcore passes its own 16 s default on API calls; ours wins.
            response = super().request(*args, timeout=self.timeout, **kwargs)
            gauge.record(response.headers)
            return response

    @dataclass(frozen=True)
    class NoRetries(FiniteRetryStrategy):
        """`with_retries` owns the retry policy; prawcore's own would multiply the tries."""

        DEFAULT_RETRIES: ClassVar[int] = 0
        retries: int = 0

    reddit = praw.Reddit(
        client_id=settings.client_id.get_secret_value(),
        client_secret=settings.client_secret.get_secret_value(),
        user_agent=settings.user_agent,
        oauth_url=settings.oauth_url,
        reddit_url=settings.reddit_url,
        check_for_updates=False,
        check_for_async=False,
        requestor_class=GaugedRequestor,
        requestor_kwargs={"timeout": settings.timeout_seconds},
    )
    core = getattr(reddit, "_read_only_core", None)
    if core is not None and hasattr(core, "_retry_strategy_class"):
        core._retry_strategy_class = NoRetries
    return reddit
