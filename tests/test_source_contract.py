"""The contract every source keeps, run over each platform's fake (see `source_harnesses`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import sources.common
from monitor.kernel.records import Mention
from sources.base import RateLimited, SourceError
from sources.common import TransientError
from tests.source_harnesses import HARNESSES, Harness, Post

# Cells where a source breaks the contract today: xfail(strict) so a fix is noticed.
KNOWN_GAPS: dict[tuple[str, str], str] = {}
# Posts are dated in the last hour: Bluesky's first sweep looks back from the real clock.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture(params=HARNESSES, ids=[h.name for h in HARNESSES])
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """A running harness; retries do not wait."""
    monkeypatch.setattr(sources.common, "BASE_DELAY", 0.0)
    gap = KNOWN_GAPS.get((request.node.originalname, request.param.name))
    if gap:
        request.applymarker(pytest.mark.xfail(strict=True, reason=gap))
    with request.param(monkeypatch).running() as running:
        yield running


PAGED = [h for h in HARNESSES if h.pages]


@pytest.fixture(params=PAGED, ids=[h.name for h in PAGED])
def paged(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """A running harness of a platform that pages (an RSS feed is read whole)."""
    monkeypatch.setattr(sources.common, "BASE_DELAY", 0.0)
    with request.param(monkeypatch).running() as running:
        yield running


def make_posts(first: int, count: int, text: str = "paquetto post {id}") -> list[Post]:
    """`count` posts with ids from `first`, one second apart, newer ids later."""
    return [
        Post(str(n), text.format(id=n), START + timedelta(seconds=n))
        for n in range(first, first + count)
    ]


def by_id(harness: Harness, mentions: list[Mention]) -> dict[str, Mention]:
    """Mentions by post id; fails on a mention collected twice or not ours."""
    ids = {harness.external_id(str(n)): str(n) for n in range(1, 1000)}
    found: dict[str, Mention] = {}
    for mention in mentions:
        post_id = ids.get(mention.external_id)
        assert post_id is not None, f"unexpected external id {mention.external_id!r}"
        assert post_id not in found, f"post {post_id} collected twice"
        found[post_id] = mention
    return found


def assert_text(harness: Harness, mention: Mention, text: str) -> None:
    """The post's text, whole (platforms that add a title: contained)."""
    if harness.exact_text:
        assert mention.text == text
    else:
        assert text in mention.text


def test_the_first_page_maps_posts_to_mentions(harness: Harness) -> None:
    posts = make_posts(1, 2)
    harness.add_posts(posts)
    batch = harness.fetch(harness.source(), None)
    found = by_id(harness, batch.mentions)
    assert sorted(found) == ["1", "2"] and batch.cursor  # a full page may say `more`
    for post in posts:
        mention = found[post.id]
        assert mention.source == harness.name
        assert mention.external_id == harness.external_id(post.id)
        assert_text(harness, mention, post.text)
        assert mention.created_at == post.created_at
        assert mention.created_at.utcoffset() == timedelta(0)
        assert (mention.author_handle is not None) == harness.has_handles


def test_pages_follow_until_more_is_false(paged: Harness) -> None:
    harness = paged
    harness.add_posts(make_posts(1, 1))
    _, cursor, _ = harness.drain(harness.source(), None)
    posts = make_posts(2, 2 * harness.page_size + 1)
    harness.add_posts(posts)
    mentions, _, fetches = harness.drain(harness.source(), cursor)
    assert sorted(by_id(harness, mentions), key=int) == [p.id for p in posts]
    assert fetches >= 3


def test_a_new_instance_resumes_from_the_saved_cursor(harness: Harness) -> None:
    harness.add_posts(make_posts(1, 3))
    _, cursor, _ = harness.drain(harness.source(), None)
    later = make_posts(10, 3)
    harness.add_posts(later)
    mentions, cursor, _ = harness.drain(harness.source(), cursor)
    assert sorted(by_id(harness, mentions), key=int) == ["10", "11", "12"]
    again, _, _ = harness.drain(harness.source(), cursor)
    assert again == []


def test_a_429_is_rate_limited_with_retry_after(harness: Harness) -> None:
    harness.fail_next("ratelimit")
    with pytest.raises(RateLimited) as caught:
        harness.fetch(harness.source(), None)
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 130


def test_a_500_then_success_is_retried(harness: Harness) -> None:
    harness.add_posts(make_posts(1, 1))
    harness.fail_next("server_error")
    batch = harness.fetch(harness.source(), None)
    assert list(by_id(harness, batch.mentions)) == ["1"]


def test_a_persistent_500_is_transient(harness: Harness) -> None:
    harness.fail_next("server_error", times=3)
    with pytest.raises(TransientError):
        harness.fetch(harness.source(), None)


def test_a_timeout_is_transient(harness: Harness) -> None:
    harness.fail_next("timeout", times=3)
    with pytest.raises(TransientError):
        harness.fetch(harness.source(), None)


def test_a_malformed_answer_is_a_source_error(harness: Harness) -> None:
    harness.fail_next("malformed")
    with pytest.raises(SourceError) as caught:
        harness.fetch(harness.source(), None)
    assert not isinstance(caught.value, TransientError | RateLimited)


def test_an_empty_result_keeps_a_cursor_that_resumes(harness: Harness) -> None:
    batch = harness.fetch(harness.source(), None)
    assert batch.mentions == [] and not batch.more and batch.cursor
    posts = make_posts(1, min(2 * harness.page_size + 1, 5))
    harness.add_posts(posts)
    mentions, _, _ = harness.drain(harness.source(), batch.cursor)
    assert sorted(by_id(harness, mentions), key=int) == [p.id for p in posts]


def test_unicode_and_emoji_are_preserved(harness: Harness) -> None:
    text = "paquetto ¡qué mal! 😡🚚📦 日本語 naïve — ça 👩‍👩‍👧"
    harness.add_posts(make_posts(1, 1, text))
    (mention,) = harness.fetch(harness.source(), None).mentions
    assert_text(harness, mention, text)


def test_a_40000_character_post_is_stored_whole(harness: Harness) -> None:
    text = "paquetto " + "é🙂" * 19_995 + "!"
    assert len(text) == 40_000
    harness.add_posts(make_posts(1, 1, text))
    (mention,) = harness.fetch(harness.source(), None).mentions
    assert_text(harness, mention, text)


def test_a_deleted_author_has_no_handle(harness: Harness) -> None:
    post = Post("1", "paquetto from a deleted account", START, author=None)
    harness.add_posts([post])
    (mention,) = harness.fetch(harness.source(), None).mentions
    assert mention.author_handle is None
    assert_text(harness, mention, post.text)
