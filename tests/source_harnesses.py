"""One harness per source: its fake server, its payload shape, its failures, its settings.

The contract suite (`tests/test_source_contract.py`) drives every source through the
same `Harness` interface, so a case is written once and runs against all platforms.
"""

from __future__ import annotations

import abc
import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from monitor.kernel.records import Batch, Mention, utcnow
from sources.base import Query, Source, SourceSettings
from sources.bluesky import BlueskySettings, BlueskySource
from sources.hackernews import HackerNewsSettings, HackerNewsSource
from sources.mastodon import MastodonSettings, MastodonSource
from sources.reddit import RedditSettings, RedditSource
from sources.rss import RssSettings, RssSource
from sources.x import XSettings, XSource
from tests.fakes.bluesky_api import FakeBluesky, make_post
from tests.fakes.hn_api import FakeHN, story
from tests.fakes.mastodon_api import FakeMastodon, make_status
from tests.fakes.reddit_api import FakeReddit, submission
from tests.fakes.rss_server import FakeFeeds, rss_feed, rss_item
from tests.fakes.x_api import FakeX

DID = "did:plc:contractauthorxxxxxxxxxx"  # the one Bluesky account of the suite
QUERY = Query(brand="paquetto", keywords=("paquetto",))
KINDS = ("ratelimit", "server_error", "timeout", "malformed")
TIMEOUT = 0.1  # the sources' timeout; a scripted slow answer takes SLOW seconds
SLOW = 0.5
MAX_FETCHES = 50


@dataclass(frozen=True, slots=True)
class Post:
    """A platform-neutral post: `id` is a positive integer as a string, ids grow with time."""

    id: str
    text: str
    created_at: datetime
    author: str | None = "fan7"


class Harness(abc.ABC):
    """A source and its fake server, driven the same way for every platform."""

    name: ClassVar[str]
    page_size: ClassVar[int]  # posts per fetch, as configured by `source()`
    pages: ClassVar[bool] = True  # whether a sweep can take more than one fetch
    exact_text: ClassVar[bool] = True  # False: the platform adds its own text around the post
    has_handles: ClassVar[bool] = True  # False: the platform never names an author handle

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    @contextmanager
    def running(self) -> Iterator[Harness]:
        """Start the fake, yield self, stop the fake."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    @abc.abstractmethod
    def start(self) -> None:
        """Start the fake server and point the source's settings at it."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the fake server."""

    @abc.abstractmethod
    def add_posts(self, posts: list[Post]) -> None:
        """Publish posts in the platform's documented payload shape."""

    @abc.abstractmethod
    def fail_next(self, kind: str, times: int = 1) -> None:
        """Make the next `times` requests fail: ratelimit, server_error, timeout, malformed."""

    @abc.abstractmethod
    def source(self) -> Source[SourceSettings]:
        """A new, configured Source instance (small pages, tiny timeout)."""

    @abc.abstractmethod
    def external_id(self, post_id: str) -> str:
        """The Mention.external_id the platform gives the post `post_id`."""

    def fetch(self, source: Source[SourceSettings], cursor: str | None) -> Batch:
        """One fetch, the way the pipeline calls it."""
        return source.fetch(QUERY, cursor)

    def drain(
        self, source: Source[SourceSettings], cursor: str | None
    ) -> tuple[list[Mention], str | None, int]:
        """Fetch until `more` is False: the mentions, the last cursor and the fetch count."""
        mentions: list[Mention] = []
        for count in range(1, MAX_FETCHES + 1):
            batch = self.fetch(source, cursor)
            mentions += batch.mentions
            cursor = batch.cursor
            if not batch.more:
                return mentions, cursor, count
        raise AssertionError(f"{self.name}: the sweep did not end after {MAX_FETCHES} fetches")


class XHarness(Harness):
    """X API v2 recent search through tweepy (`tests.fakes.x_api`)."""

    name = "x"
    page_size = 10  # X refuses max_results under 10
    BASE_ID = 1_860_000_000_000_000_000

    def start(self) -> None:
        self.fake = FakeX().__enter__()
        self.monkeypatch.setenv("PULSO_X_BEARER_TOKEN", self.fake.token)
        self.monkeypatch.setenv("PULSO_X_API_URL", self.fake.base_url)

    def stop(self) -> None:
        self.fake.__exit__(None, None, None)

    def add_posts(self, posts: list[Post]) -> None:
        for post in posts:
            tweet_id = self.external_id(post.id)
            tweet: dict[str, Any] = {
                "id": tweet_id,
                "text": post.text[:280],
                "edit_history_tweet_ids": [tweet_id],
                "author_id": "7" if post.author else "999",  # 999: a suspended account
                "created_at": post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "lang": "en",
                "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0},
            }
            if len(post.text) > 280:  # long posts carry the full text in note_tweet
                tweet["note_tweet"] = {"text": post.text}
            user = {"id": "7", "username": post.author, "name": "Fan"} if post.author else None
            self.fake.add(tweet, user)

    def fail_next(self, kind: str, times: int = 1) -> None:
        if kind == "ratelimit":
            reset = {"x-rate-limit-reset": str(int(time.time()) + 120)}
            self.fake.fail_next("status", 429, times=times, headers=reset)
        elif kind == "server_error":
            self.fake.fail_next("status", 500, times=times)
        elif kind == "timeout":
            self.fake.fail_next("sleep", SLOW, times=times)
        else:
            self.fake.fail_next("raw", b'{"data": [', times=times)

    def source(self) -> Source[SourceSettings]:
        settings = XSettings.model_validate(
            # A huge budget: the monthly pacing must not empty a fetch early in a month.
            {"page_size": 10, "timeout_seconds": TIMEOUT, "monthly_read_budget": 10**9}
        )
        return XSource(settings)

    def external_id(self, post_id: str) -> str:
        return str(self.BASE_ID + int(post_id))


class RedditHarness(Harness):
    """Reddit search through praw (`tests.fakes.reddit_api`)."""

    name = "reddit"
    page_size = 2
    exact_text = False  # title, blank line, selftext

    def start(self) -> None:
        self.fake = FakeReddit().__enter__()
        self.monkeypatch.setenv("PULSO_REDDIT_CLIENT_ID", "app-id")
        self.monkeypatch.setenv("PULSO_REDDIT_CLIENT_SECRET", "app-secret")

    def stop(self) -> None:
        self.fake.__exit__(None, None, None)

    def add_posts(self, posts: list[Post]) -> None:
        for post in posts:
            created = post.created_at.timestamp()
            # Titles are capped at 300 characters: the post's text goes in the selftext.
            self.fake.posts.append(
                submission(f"p{post.id}", created, "Paquetto", post.text, author=post.author)
            )

    def fail_next(self, kind: str, times: int = 1) -> None:
        names = {"ratelimit": "ratelimited", "server_error": "server_error"}
        names.update(timeout="timeout", malformed="malformed")
        self.fake.delay = SLOW
        self.fake.fail(*[names[kind]] * times)

    def source(self) -> Source[SourceSettings]:
        url = self.fake.base_url
        settings = RedditSettings.model_validate(
            {"oauth_url": url, "reddit_url": url, "page_size": 2, "timeout_seconds": TIMEOUT}
        )
        return RedditSource(settings)

    def external_id(self, post_id: str) -> str:
        return f"t3_p{post_id}"


class MastodonHarness(Harness):
    """A Mastodon hashtag timeline through Mastodon.py (`tests.fakes.mastodon_api`)."""

    name = "mastodon"
    page_size = 2

    def start(self) -> None:
        self.fake = FakeMastodon().__enter__()

    def stop(self) -> None:
        self.fake.__exit__(None, None, None)

    def add_posts(self, posts: list[Post]) -> None:
        for post in posts:
            created = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            status = make_status(int(post.id), post.text, tag="paquetto", created_at=created)
            if post.author:
                status["account"].update(acct=post.author, username=post.author)
            else:  # a deleted or suspended account
                status["account"] = {"id": "5", "acct": "", "username": ""}
            self.fake.add(status)

    def fail_next(self, kind: str, times: int = 1) -> None:
        if kind == "ratelimit":
            self.fake.fail("status", 429, times=times)
        elif kind == "server_error":
            self.fake.fail("status", 500, times=times)
        elif kind == "timeout":
            self.fake.fail("sleep", SLOW, times=times)
        else:
            self.fake.fail("garbage", times=times)

    def source(self) -> Source[SourceSettings]:
        return MastodonSource(
            MastodonSettings(instances=(self.fake.base_url,), page_size=2, timeout_seconds=TIMEOUT)
        )

    def external_id(self, post_id: str) -> str:
        return make_status(int(post_id), "")["uri"]  # type: ignore[no-any-return]


class BlueskyHarness(Harness):
    """Bluesky searchPosts through atproto (`tests.fakes.bluesky_api`)."""

    name = "bluesky"
    page_size = 2

    def start(self) -> None:
        self.fake = FakeBluesky().__enter__()
        self.monkeypatch.setenv("PULSO_BLUESKY_HANDLE", self.fake.handle)
        self.monkeypatch.setenv("PULSO_BLUESKY_APP_PASSWORD", self.fake.password)

    def stop(self) -> None:
        self.fake.__exit__(None, None, None)

    def add_posts(self, posts: list[Post]) -> None:
        for post in posts:
            at = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            # An account whose handle no longer resolves is shown as handle.invalid.
            handle = f"{post.author}.bsky.social" if post.author else "handle.invalid"
            payload = make_post(f"3k{post.id}", post.text, at, handle=handle)
            payload["uri"] = self.external_id(post.id)  # one DID, whatever the handle
            self.fake.add(payload)

    def fail_next(self, kind: str, times: int = 1) -> None:
        if kind == "ratelimit":
            self.fake.fail("status", 429, times=times)
        elif kind == "server_error":
            self.fake.fail("status", 500, times=times)
        elif kind == "timeout":
            self.fake.fail("sleep", SLOW, times=times)
        else:
            self.fake.fail("garbage", times=times)

    def source(self) -> Source[SourceSettings]:
        settings = BlueskySettings.model_validate(
            {"service_url": self.fake.base_url, "page_size": 2, "timeout_seconds": TIMEOUT}
        )
        return BlueskySource(settings)

    def external_id(self, post_id: str) -> str:
        return f"at://{DID}/app.bsky.feed.post/3k{post_id}"


class HackerNewsHarness(Harness):
    """The Algolia HN Search API over httpx (`tests.fakes.hn_api`)."""

    name = "hackernews"
    page_size = 2
    exact_text = False  # title, blank line, story text

    def start(self) -> None:
        self.fake = FakeHN().__enter__()

    def stop(self) -> None:
        self.fake.stop()

    def add_posts(self, posts: list[Post]) -> None:
        for post in posts:
            created = int(post.created_at.timestamp())
            self.fake.add(
                story(int(post.id), created, "Paquetto", story_text=post.text, author=post.author)
            )

    def fail_next(self, kind: str, times: int = 1) -> None:
        names = {"ratelimit": "ratelimited", "server_error": "server_error"}
        names.update(timeout="timeout", malformed="malformed")
        self.fake.fail_next(names[kind], times=times, retry_after="42", delay=SLOW)

    def source(self) -> Source[SourceSettings]:
        settings = HackerNewsSettings(
            api_url=self.fake.base_url, hits_per_page=2, timeout_seconds=TIMEOUT
        )
        return HackerNewsSource(settings)

    def fetch(self, source: Source[SourceSettings], cursor: str | None) -> Batch:
        assert isinstance(source, HackerNewsSource)
        return source.fetch(QUERY, cursor, now=utcnow())

    def external_id(self, post_id: str) -> str:
        return post_id


class RssHarness(Harness):
    """One RSS 2.0 feed over httpx and feedparser (`tests.fakes.rss_server`)."""

    name = "rss"
    page_size = 1000  # a feed is read whole: there are no pages
    pages = False
    exact_text = False  # title, blank line, description
    has_handles = False  # RSS names an author (author_name), never a handle
    PATH = "/paquetto.xml"

    def start(self) -> None:
        self.fake = FakeFeeds().__enter__()
        self.items: list[str] = []
        self.fake.publish(self.PATH, rss_feed([]))

    def stop(self) -> None:
        self.fake.stop()

    def add_posts(self, posts: list[Post]) -> None:
        for post in posts:
            date = email.utils.format_datetime(post.created_at.astimezone(UTC), usegmt=True)
            fields = {"description": post.text}
            if post.author:
                fields["author"] = f"{post.author}@example.com ({post.author})"
            self.items.insert(0, rss_item(f"entry-{post.id}", "Paquetto", date, **fields))
        self.fake.publish(self.PATH, rss_feed(self.items))

    def fail_next(self, kind: str, times: int = 1) -> None:
        names = {"ratelimit": "ratelimited", "server_error": "server_error"}
        names.update(timeout="timeout", malformed="malformed")
        self.fake.fail_next(names[kind], times=times, retry_after="42", delay=SLOW)

    def source(self) -> Source[SourceSettings]:
        settings = RssSettings(feeds=(self.fake.url(self.PATH),), timeout_seconds=TIMEOUT)
        return RssSource(settings)

    def fetch(self, source: Source[SourceSettings], cursor: str | None) -> Batch:
        assert isinstance(source, RssSource)
        return source.fetch(QUERY, cursor, now=utcnow())

    def external_id(self, post_id: str) -> str:
        return f"entry-{post_id}"


HARNESSES: tuple[type[Harness], ...] = (
    XHarness,
    RedditHarness,
    MastodonHarness,
    BlueskyHarness,
    HackerNewsHarness,
    RssHarness,
)
