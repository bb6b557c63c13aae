"""X (Twitter) source: API v2 recent search through tweepy, paced to a monthly read budget."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from monitor.kernel.records import Batch, Mention, parse_utc, utcnow
from monitor.kernel.redact import http_problem, snippet
from monitor.kernel.secrets import api_url_field, secret_field
from sources.base import Query, RateLimited, Requirements, Source, SourceError, SourceSettings
from sources.common import Sweep, TransientError, to_mentions, with_retries

logger = logging.getLogger(__name__)

TOKEN_VAR = "PULSO_X_BEARER_TOKEN"
API_URL_VAR = "PULSO_X_API_URL"
DEFAULT_API_URL = "https://api.twitter.com"  # what tweepy calls; a proxy or fake may differ
MIN_RESULTS = 10  # the recent search refuses a smaller max_results
MAX_RESULTS = 100
TWEET_FIELDS = (
    "author_id,created_at,lang,public_metrics,referenced_tweets,conversation_id,note_tweet"
)
USER_FIELDS = "username,name,public_metrics"
_PLAIN_TERM = re.compile(r"^[#@$]?\w+$")
SKIPPED = "x: skipped a malformed post %s: %r"


class XSettings(SourceSettings):
    """X settings. The bearer token comes only from `PULSO_X_BEARER_TOKEN` (or `_FILE`).

    ```yaml
    sources:
      x:
        interval_seconds: 900
        monthly_read_budget: 10000  # posts read per calendar month (X bills reads)
        include_reposts: false      # adds -is:retweet to the query
        page_size: 100              # max_results per request, 10..100
        max_pages: 5                # pages per collection tick
        backfill_hours: 24          # how far back the very first sweep looks
        timeout_seconds: 10
    ```
    """

    bearer_token: SecretStr = Field(default=None, validate_default=True)
    api_url: str = Field(default="", validate_default=True)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    page_size: int = Field(default=MAX_RESULTS, ge=MIN_RESULTS, le=MAX_RESULTS)
    max_pages: int = Field(default=5, ge=1, le=50)
    include_reposts: bool = False
    monthly_read_budget: int = Field(default=10000, ge=0)
    backfill_hours: int = Field(default=24, ge=1, le=167)
    max_query_length: int = Field(default=512, ge=64, le=4096)

    _token = secret_field("bearer_token", var=TOKEN_VAR)
    _api_url = api_url_field("api_url", var=API_URL_VAR, default=DEFAULT_API_URL)


def _term(word: str) -> str:
    """One search term: plain words, #hashtags, @handles and $cashtags as they are, else quoted."""
    word = word.strip()
    if _PLAIN_TERM.match(word):
        return word
    return '"' + word.strip('"').replace('"', " ") + '"'


def build_query(query: Query, include_reposts: bool = False) -> str:
    """The X search query for a brand: any keyword, no exclusion, in its languages."""
    terms = []
    for keyword in query.keywords:
        if not keyword.strip():
            continue
        term = _term(keyword)
        # A handle matches posts that mention the account and posts it writes itself.
        terms.append(f"({term} OR from:{term[1:]})" if term.startswith("@") else term)
    if not terms:
        raise SourceError(f"x: brand {query.brand} has no keywords to search for")
    parts = [terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"]
    parts += [f"-{_term(word)}" for word in query.exclusions if word.strip()]
    languages = [f"lang:{lang.strip().lower()}" for lang in query.languages if lang.strip()]
    if len(languages) == 1:
        parts.append(languages[0])
    elif languages:
        parts.append("(" + " OR ".join(languages) + ")")
    if not include_reposts:
        parts.append("-is:retweet")
    return " ".join(parts)


def tweet_to_mention(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> Mention:
    """Map one v2 tweet object (and the expanded users by id) to a Mention."""
    tweet_id = str(tweet["id"])
    author = users.get(str(tweet.get("author_id")))
    handle = author.get("username") if author else None
    followers = ((author or {}).get("public_metrics") or {}).get("followers_count")
    metrics = tweet.get("public_metrics") or {}
    refs = {ref.get("type"): str(ref.get("id")) for ref in tweet.get("referenced_tweets") or []}
    note = tweet.get("note_tweet") or {}  # posts past 280 characters: `text` is truncated
    return Mention(
        source="x",
        external_id=tweet_id,
        text=note.get("text") or tweet.get("text") or "",
        created_at=parse_utc(tweet["created_at"]),
        url=f"https://x.com/{handle or 'i/web'}/status/{tweet_id}",
        author_handle=handle,
        author_name=author.get("name") if author else None,
        author_followers=int(followers) if followers is not None else None,
        lang=tweet.get("lang"),
        likes=int(metrics.get("like_count") or 0),
        reposts=int(metrics.get("retweet_count") or 0),
        replies=int(metrics.get("reply_count") or 0),
        is_repost="retweeted" in refs,
        is_quote="quoted" in refs,
        parent_id=refs.get("replied_to") or refs.get("quoted") or refs.get("retweeted"),
    )


def query_key(text: str) -> str:
    """A short fingerprint of a query, to notice that it changed in the middle of a sweep."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


@dataclass(frozen=True, slots=True)
class XCursor:
    """The saved state: the sweep (see `Sweep`), its start time, and this month's reads."""

    sweep: Sweep = field(default_factory=Sweep)
    start: str | None = None  # start_time of a first sweep in progress (no since_id yet)
    query: str | None = None  # query_key of the sweep in progress
    month: str = ""
    reads: int = 0

    @classmethod
    def load(cls, cursor: str | None, now: datetime) -> XCursor:
        """Parse a saved cursor; the read count starts again in a new month."""
        try:
            data = json.loads(cursor) if cursor else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        month = now.strftime("%Y-%m")
        reads = int(data.get("reads") or 0) if data.get("month") == month else 0
        return cls(Sweep.load(cursor), data.get("start"), data.get("query"), month, reads)

    def dump(self) -> str:
        """The cursor to save."""
        state = json.loads(self.sweep.dump())
        state.update(start=self.start, query=self.query, month=self.month, reads=self.reads)
        return json.dumps(state)


@dataclass(frozen=True, slots=True)
class Page:
    """One parsed search response."""

    tweets: list[Mapping[str, Any]]
    users: Mapping[str, Mapping[str, Any]]
    newest_id: str | None
    next_token: str | None


def parse_page(payload: object) -> Page:
    """Check a recent-search response's shape; SourceError if it is not what X documents."""
    if not isinstance(payload, dict):
        raise SourceError("x: malformed response: expected a JSON object")
    tweets = payload.get("data") or []
    includes = payload.get("includes") or {}
    meta = payload.get("meta") or {}
    users = (includes.get("users") or []) if isinstance(includes, dict) else None
    if not isinstance(tweets, list) or not isinstance(meta, dict) or not isinstance(users, list):
        raise SourceError("x: malformed response: data, includes.users or meta has a wrong type")
    by_id = {str(u["id"]): u for u in users if isinstance(u, dict) and "id" in u}
    for error in payload.get("errors") or []:
        logger.debug("x: partial error in response: %s", error)
    newest = meta.get("newest_id")
    token = meta.get("next_token")
    return Page(
        [t for t in tweets if isinstance(t, dict)],
        by_id,
        str(newest) if newest else None,
        str(token) if token else None,
    )


def _transport(timeout: float, api_url: str) -> Any:
    """A requests adapter that puts a timeout on every call (tweepy sets none) and,
    when `api_url` is not X's, sends the calls there instead (a proxy, or a test fake)."""
    from requests.adapters import HTTPAdapter

    class Transport(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            if api_url != DEFAULT_API_URL and request.url.startswith(DEFAULT_API_URL):
                request.url = api_url + request.url[len(DEFAULT_API_URL) :]
            return super().send(request, *args, **kwargs)

    return Transport()


class XSource(Source[XSettings]):
    """Recent search (last 7 days) newest first, one page per fetch, within the read budget.

    Reads are paced over the month: by any moment at most `monthly_read_budget` times the
    share of the month elapsed (plus one interval) has been read, so the budget lasts to
    the month's end and a quiet day leaves more for a busy one.
    """

    name: ClassVar[str] = "x"
    Settings: ClassVar[type[SourceSettings]] = XSettings
    requires: ClassVar[Requirements] = (("tweepy", "tweepy", "tweepy"),)
    lookback_setting: ClassVar[str | None] = "backfill_hours"

    def __init__(self, settings: XSettings, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(settings)
        self.clock = clock or utcnow
        self._client: Any = None
        self._state = XCursor()
        self._pages = 0  # pages in the current run of fetches (reset when `more` is False)
        self._warned: str | None = None  # the month whose exhausted budget was reported

    def client(self) -> Any:
        """The tweepy client, built once (with the timeout transport mounted)."""
        if self._client is None:
            try:
                import tweepy
            except ImportError as exc:
                raise SourceError("x: the tweepy package is missing: pip install tweepy") from exc
            client = tweepy.Client(
                bearer_token=self.settings.bearer_token.get_secret_value(), return_type=dict
            )
            transport = _transport(self.settings.timeout_seconds, self.settings.api_url)
            client.session.mount("https://", transport)
            client.session.mount("http://", transport)
            self._client = client
        return self._client

    def budget_status(self, cursor: str | None = None) -> dict[str, Any]:
        """This month's spend: reads, budget, left, and what the pacing allows now."""
        now = self.clock()
        state = XCursor.load(cursor, now) if cursor is not None else self._state
        if state.month != now.strftime("%Y-%m"):
            state = XCursor(month=now.strftime("%Y-%m"))
        budget = self.settings.monthly_read_budget
        return {
            "month": state.month,
            "reads": state.reads,
            "budget": budget,
            "left": max(0, budget - state.reads),
            "available_now": self._allowance(state.reads, now),
        }

    def status_note(self, cursor: str | None) -> str:
        """This month's X reads against the budget, for `pulso sources`."""
        spend = self.budget_status(cursor)
        return (
            f"X reads {spend['reads']:,} of {spend['budget']:,} in {spend['month']} "
            f"({spend['left']:,} left)"
        )

    def read_budget_left(self, cursor: str | None) -> int | None:
        """X posts that may still be read this month."""
        return int(self.budget_status(cursor)["left"])

    def _allowance(self, reads: int, now: datetime) -> int:
        start, end = _month_bounds(now)
        elapsed = (now - start).total_seconds() + self.settings.interval_seconds
        share = min(1.0, elapsed / (end - start).total_seconds())
        budget = self.settings.monthly_read_budget
        return max(0, min(budget, math.floor(budget * share)) - reads)

    def fetch(self, query: Query, cursor: str | None) -> Batch:
        """Fetch the next page of the sweep in progress, or start a sweep for newer posts."""
        now = self.clock()
        text = self._query_text(query)
        state = XCursor.load(cursor, now)
        if state.sweep.in_progress and state.query != query_key(text):
            # A next_token only works for the query that made it: sweep again from `since`.
            logger.info("x: the query for %s changed; restarting the sweep", query.brand)
            state = replace(state, sweep=Sweep(since=state.sweep.since), start=None)
        self._state = state
        allowance = min(self.settings.page_size, self._allowance(state.reads, now))
        if allowance < MIN_RESULTS:
            self._skip(state)
            self._pages = 0
            return Batch(mentions=[], cursor=state.dump(), more=False)
        params, start = self._params(state, now, allowance)
        page = parse_page(with_retries(lambda: self._search(text, params), "x search"))
        mentions = to_mentions(
            page.tweets, partial(tweet_to_mention, users=page.users), logger, SKIPPED, "id"
        )
        sweep, more = state.sweep.after_page(page.newest_id, page.next_token)
        state = replace(
            state,
            sweep=sweep,
            start=start if more and sweep.since is None else None,
            query=query_key(text) if more else None,
            reads=state.reads + len(page.tweets),
        )
        self._state = state
        self._pages += 1
        logger.info(
            "x: %d posts for %s (%d read this month)", len(mentions), query.brand, state.reads
        )
        if not more or self._pages >= self.settings.max_pages:
            more, self._pages = False, 0
        return Batch(mentions=mentions, cursor=state.dump(), more=more)

    def _query_text(self, query: Query) -> str:
        text = build_query(query, self.settings.include_reposts)
        if len(text) > self.settings.max_query_length:
            raise SourceError(
                f"x: the query for {query.brand} is {len(text)} characters, over "
                f"max_query_length {self.settings.max_query_length}: "
                "use fewer keywords or exclusions"
            )
        return text

    def _params(
        self, state: XCursor, now: datetime, allowance: int
    ) -> tuple[dict[str, Any], str | None]:
        params: dict[str, Any] = {
            "max_results": allowance,
            "expansions": "author_id",
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
        }
        start = state.start
        if state.sweep.since is not None:
            params["since_id"] = state.sweep.since
        else:
            if start is None:
                start = (now - timedelta(hours=self.settings.backfill_hours)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
            params["start_time"] = start
        if state.sweep.token:
            params["next_token"] = state.sweep.token
        return params, start

    def _skip(self, state: XCursor) -> None:
        if state.reads < self.settings.monthly_read_budget:
            logger.debug("x: read budget paced out for now (%d read this month)", state.reads)
        elif self._warned != state.month:
            self._warned = state.month
            logger.warning(
                "x: the monthly read budget of %d posts is spent; X collection stops until "
                "next month (raise sources.x.monthly_read_budget to read more)",
                self.settings.monthly_read_budget,
            )

    def _search(self, text: str, params: dict[str, Any]) -> object:
        import requests
        import tweepy

        client = self.client()
        try:
            return client.search_recent_tweets(text, **params)
        except tweepy.TooManyRequests as exc:
            reset = getattr(exc, "reset_time", None)
            retry_after = max(1.0, reset - time.time()) if reset else None
            raise RateLimited(
                f"x: rate limited ({_problem(exc)})", retry_after=retry_after
            ) from exc
        except tweepy.TwitterServerError as exc:
            raise TransientError(f"x: server error ({_problem(exc)})") from exc
        except tweepy.HTTPException as exc:
            raise SourceError(f"x: refused ({_problem(exc)})") from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"x: connection failed or timed out: {snippet(exc)}") from exc
        except ValueError as exc:  # requests' JSONDecodeError
            raise SourceError(f"x: malformed JSON in the search response: {exc}") from exc


def _problem(exc: Any) -> str:
    """ "HTTP 401 from api.twitter.com: <X's own message>", short and redacted: X's error
    body may echo the request, bearer token included."""
    response = exc.response
    return http_problem(response.status_code, response.url, "; ".join(exc.api_messages))
