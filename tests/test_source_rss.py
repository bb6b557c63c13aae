"""The RSS/Atom source against a fake feed server that httpx and feedparser really use."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import sources.common
from monitor.kernel.records import Batch
from sources.base import Query, RateLimited, SourceError
from sources.common import TransientError
from sources.rss import RssSettings, RssSource, html_to_text
from tests.fakes.rss_server import ATOM_TYPE, FakeFeeds, rss_feed, rss_item

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
QUERY = Query(brand="acme", keywords=("acme", "Acme Widget"), exclusions=("jobs",))
MODIFIED = "Sun, 01 Mar 2026 10:00:00 GMT"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries happen, without waiting."""
    monkeypatch.setattr(sources.common, "BASE_DELAY", 0.0)


@pytest.fixture
def fake() -> Iterator[FakeFeeds]:
    with FakeFeeds() as server:
        yield server


def source(fake: FakeFeeds, *paths: str, timeout: float = 10.0) -> RssSource:
    feeds = tuple(fake.url(p) for p in paths)
    return RssSource(RssSettings(feeds=feeds, timeout_seconds=timeout))


def ids(batch: Batch) -> list[str]:
    return [m.external_id for m in batch.mentions]


def reviews(*items: str) -> str:
    return rss_feed(list(items))


ONE = rss_item(
    "review-1",
    "Acme &amp; co",
    "Sun, 01 Mar 2026 09:30:00 +0200",
    link="https://reviews.example/1",
    description="<p>Slow <b>delivery</b></p><p>Never again</p>",
    author="ana@example.com (Ana)",
)
TWO = rss_item("review-2", "Acme again", "Sun, 01 Mar 2026 08:00:00 GMT")


def test_first_fetch_maps_every_entry(fake: FakeFeeds) -> None:
    fake.publish("/reviews.xml", reviews(ONE, TWO), etag='"v1"', modified=MODIFIED)
    batch = source(fake, "/reviews.xml").fetch(QUERY, None, now=NOW)
    assert not batch.more and ids(batch) == ["review-1", "review-2"]  # oldest first
    first = batch.mentions[0]
    assert first.source == "rss"
    assert first.text == "Acme & co\n\nSlow delivery\nNever again"
    assert first.created_at == datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
    assert first.url == "https://reviews.example/1"
    assert first.author_name == "ana@example.com (Ana)" and first.author_handle is None
    assert first.lang == "en" and first.author_followers is None
    assert (first.likes, first.reposts, first.replies, first.parent_id) == (0, 0, 0, None)
    assert not first.is_repost and not first.is_quote
    assert batch.mentions[1].text == "Acme again" and batch.mentions[1].url is None


def test_atom_entries_use_their_language_and_link_as_id(fake: FakeFeeds) -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="pt-BR"><title>Alertas</title>'
        "<id>urn:feed</id><updated>2026-03-01T10:00:00Z</updated>"
        '<entry><title>Acme atrasou</title><link href="https://news.example/a"/>'
        "<updated>2026-03-01T09:00:00-03:00</updated>"
        '<summary type="html">&lt;b&gt;Entrega&lt;/b&gt; atrasada</summary>'
        "<author><name>Bia</name></author></entry></feed>"
    )
    fake.publish("/alerts", atom, content_type=ATOM_TYPE)
    (mention,) = source(fake, "/alerts").fetch(QUERY, None, now=NOW).mentions
    assert mention.external_id == "https://news.example/a"
    assert mention.text == "Acme atrasou\n\nEntrega atrasada"
    assert mention.lang == "pt" and mention.author_name == "Bia"
    assert mention.created_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_conditional_get_returns_nothing_new(fake: FakeFeeds) -> None:
    fake.publish("/reviews.xml", reviews(ONE), etag='"v1"', modified=MODIFIED)
    first = source(fake, "/reviews.xml").fetch(QUERY, None, now=NOW)
    second = source(fake, "/reviews.xml").fetch(QUERY, first.cursor, now=NOW)
    assert second.mentions == [] and second.cursor == first.cursor
    sent = fake.requests[1]["headers"]
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == MODIFIED


def test_a_restart_yields_only_newer_entries_and_none_twice(fake: FakeFeeds) -> None:
    fake.publish("/reviews.xml", reviews(ONE, TWO))  # no validators: full GET every time
    # Newest collected: review-2 at 08:00 UTC; an entry in that same second is still new.
    first = source(fake, "/reviews.xml").fetch(QUERY, None, now=NOW)
    same_second = rss_item("review-3", "Acme too", "Sun, 01 Mar 2026 08:00:00 GMT")
    newer = rss_item("review-4", "Acme later", "Sun, 01 Mar 2026 11:00:00 GMT")
    undated = rss_item(None, "Acme undated", None, link="https://reviews.example/u")
    fake.publish("/reviews.xml", reviews(newer, same_second, undated, ONE, TWO))
    second = source(fake, "/reviews.xml").fetch(QUERY, first.cursor, now=NOW)
    assert ids(second) == ["review-3", "review-4", "https://reviews.example/u"]
    assert second.mentions[-1].created_at == NOW  # undated: when it was first seen
    third = source(fake, "/reviews.xml").fetch(QUERY, second.cursor, now=NOW)
    assert third.mentions == []


def test_a_broken_feed_does_not_stop_the_others(
    fake: FakeFeeds, caplog: pytest.LogCaptureFixture
) -> None:
    fake.publish("/good.xml", reviews(ONE))
    fake.publish("/broken.xml", "<html><body>We moved!</body>", content_type="text/html")
    src = source(fake, "/broken.xml", "/good.xml")
    with caplog.at_level(logging.WARNING):
        batch = src.fetch(QUERY, None, now=NOW)
    assert ids(batch) == ["review-1"]
    assert "broken.xml: malformed feed" in caplog.text


def test_all_feeds_broken_is_a_source_error_naming_the_feed(fake: FakeFeeds) -> None:
    fake.publish("/broken.xml", b"\x00\x01 not xml at all <<<")
    with pytest.raises(SourceError, match=r"rss feed http://127\.0\.0\.1:\d+/broken\.xml"):
        source(fake, "/broken.xml").fetch(QUERY, None, now=NOW)


def test_rate_limit_gives_retry_after(fake: FakeFeeds) -> None:
    fake.publish("/reviews.xml", reviews(ONE))
    fake.fail_next("ratelimited", retry_after="120")
    with pytest.raises(RateLimited) as caught:
        source(fake, "/reviews.xml").fetch(QUERY, None, now=NOW)
    assert caught.value.retry_after == 120.0 and len(fake.requests) == 1


def test_server_errors_are_retried_then_given_up(fake: FakeFeeds) -> None:
    fake.publish("/reviews.xml", reviews(ONE))
    fake.fail_next("server_error")
    assert ids(source(fake, "/reviews.xml").fetch(QUERY, None, now=NOW)) == ["review-1"]
    fake.fail_next("server_error", times=3)
    with pytest.raises(TransientError):
        source(fake, "/reviews.xml").fetch(QUERY, None, now=NOW)
    assert len(fake.requests) == 5


def test_a_slow_feed_times_out(fake: FakeFeeds) -> None:
    fake.publish("/reviews.xml", reviews(ONE))
    fake.fail_next("timeout", times=3, delay=2.0)
    with pytest.raises(TransientError, match="timed out"):
        source(fake, "/reviews.xml", timeout=0.2).fetch(QUERY, None, now=NOW)
    assert len(fake.requests) == 3


def test_an_empty_feed_and_a_missing_one(fake: FakeFeeds) -> None:
    fake.publish("/empty.xml", reviews())
    batch = source(fake, "/empty.xml").fetch(QUERY, None, now=NOW)
    assert batch.mentions == [] and not batch.more
    with pytest.raises(SourceError, match="HTTP 404"):
        source(fake, "/gone.xml").fetch(QUERY, None, now=NOW)


def test_unicode_a_long_entry_and_no_author(fake: FakeFeeds) -> None:
    long_text = "acme " + "ü" * 40_000
    fake.publish(
        "/reviews.xml",
        reviews(
            rss_item("e1", "Acme 😡 日本語", "Sun, 01 Mar 2026 09:00:00 GMT", description="naïve"),
            rss_item("e2", "Acme long", "Sun, 01 Mar 2026 09:01:00 GMT", description=long_text),
        ),
    )
    first, second = source(fake, "/reviews.xml").fetch(QUERY, None, now=NOW).mentions
    assert first.text == "Acme 😡 日本語\n\nnaïve" and first.author_name is None
    assert second.text == "Acme long\n\n" + long_text


def test_a_query_placeholder_gets_the_brand_terms(fake: FakeFeeds) -> None:
    fake.publish("/search", reviews(ONE))
    src = RssSource(RssSettings(feeds=(fake.url("/search?q={query}&hl=en"),)))
    assert ids(src.fetch(QUERY, None, now=NOW)) == ["review-1"]
    assert fake.requests[0]["params"] == {"q": 'acme OR "Acme Widget" -jobs', "hl": "en"}


def test_html_to_text_drops_scripts_and_decodes_entities() -> None:
    html = "<div>Acme&nbsp;&amp; co<script>alert(1)</script></div><ul><li>one</li><li>two"
    assert html_to_text(html) == "Acme & co\none\ntwo"  # NBSP folds like any space
