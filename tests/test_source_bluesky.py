"""The Bluesky source against a fake XRPC service that the real atproto client talks to."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sources.base import Query, RateLimited, SourceError
from sources.bluesky import BlueskySettings, BlueskySource, post_to_mention, search_terms
from sources.common import TransientError
from tests.fakes.bluesky_api import FakeBluesky, make_post

QUERY = Query(brand="paquetto", keywords=("Paquetto",))
NOW = datetime.now(UTC).replace(microsecond=0)


def ago(minutes: int) -> str:
    """An atproto datetime `minutes` before the start of the test run."""
    return (NOW - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    """A fake Bluesky service on 127.0.0.1."""
    with FakeBluesky() as server:
        yield server


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


def source(fake: FakeBluesky, **settings: Any) -> BlueskySource:
    """A source logged in to the fake with credentials from the environment."""
    env = {"PULSO_BLUESKY_HANDLE": fake.handle, "PULSO_BLUESKY_APP_PASSWORD": fake.password}
    config = {"service_url": fake.base_url, **settings}
    return BlueskySource(BlueskySettings.model_validate(config, context={"environ": env}))


def drain(src: BlueskySource, cursor: str | None) -> tuple[list[str], str | None, int]:
    """Fetch while `more`, the way the pipeline does: texts, last cursor, pages."""
    texts: list[str] = []
    pages = 0
    while True:
        batch = src.fetch(QUERY, cursor)
        texts += [m.text for m in batch.mentions]
        cursor, pages = batch.cursor, pages + 1
        if not batch.more:
            return texts, cursor, pages


def test_first_page_maps_every_field(fake: FakeBluesky) -> None:
    parent = "at://did:plc:zzz/app.bsky.feed.post/3kparent"
    quoted = {"$type": "app.bsky.embed.record#view", "record": {"uri": parent}}
    reply = {"root": {"uri": parent, "cid": "bafyroot"}, "parent": {"uri": parent, "cid": "bafyp"}}
    post = make_post("3kabc", "¿Dónde está mi Paquetto? 📦", ago(5), likeCount=4, embed=quoted)
    post["record"]["reply"] = reply
    post.update(author={**post["author"], "followersCount": 77}, repostCount=2, replyCount=1)
    fake.add(post)
    batch = source(fake).fetch(QUERY, None)
    assert not batch.more and fake.sessions == 1
    (mention,) = batch.mentions
    assert mention.source == "bluesky" and mention.external_id == post["uri"]
    assert mention.url == "https://bsky.app/profile/ana.bsky.social/post/3kabc"
    assert (mention.author_handle, mention.author_name) == ("ana.bsky.social", "Ana 🌵")
    assert mention.author_followers == 77
    assert mention.text == "¿Dónde está mi Paquetto? 📦"
    assert mention.created_at == NOW - timedelta(minutes=5)
    assert mention.lang == "es"
    assert (mention.likes, mention.reposts, mention.replies) == (4, 2, 1)
    assert mention.is_quote and not mention.is_repost
    assert mention.parent_id == parent
    (search,) = fake.searches
    assert search["q"] == ["Paquetto"] and search["sort"] == ["latest"]


def test_sweeps_page_back_then_resume_after_a_restart(fake: FakeBluesky) -> None:
    fake.add(*(make_post(f"3k{i}", f"Paquetto {i}", ago(100 - i)) for i in range(5)))
    first = source(fake, page_size=2)
    batch = first.fetch(QUERY, None)
    assert batch.more and [m.text for m in batch.mentions] == ["Paquetto 4", "Paquetto 3"]
    # A crash here: the saved cursor holds the sweep in progress.
    fake.add(*(make_post(f"3k{i}", f"Paquetto {i}", ago(100 - i)) for i in range(5, 8)))
    texts, cursor, pages = drain(source(fake, page_size=2), batch.cursor)
    assert texts == ["Paquetto 2", "Paquetto 1", "Paquetto 0"]  # the rest of the old sweep
    texts, cursor, pages = drain(source(fake, page_size=2), cursor)
    assert texts == ["Paquetto 7", "Paquetto 6", "Paquetto 5"]  # only what is newer
    assert pages == 2
    texts, _, _ = drain(source(fake, page_size=2), cursor)
    assert texts == []


def test_max_pages_ends_a_run(fake: FakeBluesky) -> None:
    fake.add(*(make_post(f"3k{i}", f"Paquetto {i}", ago(100 - i)) for i in range(6)))
    texts, cursor, pages = drain(source(fake, page_size=2, max_pages=2), None)
    assert pages == 2 and len(texts) == 4
    texts, _, _ = drain(source(fake, page_size=2, max_pages=2), cursor)
    assert texts == ["Paquetto 1", "Paquetto 0"]


def test_rate_limit_raises_with_the_reset_time(fake: FakeBluesky) -> None:
    fake.fail("status", 429)
    with pytest.raises(RateLimited) as caught:
        source(fake).fetch(QUERY, None)
    assert caught.value.retry_after is not None and 80 < caught.value.retry_after <= 91


def test_a_server_error_is_retried(fake: FakeBluesky, sleeps: list[float]) -> None:
    fake.add(make_post("3ka", "Paquetto", ago(1)))
    fake.fail("status", 500)
    assert len(source(fake).fetch(QUERY, None).mentions) == 1
    assert len(sleeps) == 1


def test_a_persistent_server_error_gives_up(fake: FakeBluesky, sleeps: list[float]) -> None:
    fake.fail("status", 503, times=3)
    with pytest.raises(TransientError):
        source(fake).fetch(QUERY, None)
    assert len(sleeps) == 2


def test_a_timeout_is_transient(fake: FakeBluesky, sleeps: list[float]) -> None:
    fake.fail("sleep", 0.5, times=3)
    with pytest.raises(TransientError):
        source(fake, timeout_seconds=0.1).fetch(QUERY, None)


def test_malformed_json_is_a_source_error(fake: FakeBluesky) -> None:
    fake.fail("garbage")
    with pytest.raises(SourceError, match="bluesky"):
        source(fake).fetch(QUERY, None)


def test_empty_result(fake: FakeBluesky) -> None:
    batch = source(fake).fetch(QUERY, None)
    assert batch.mentions == [] and not batch.more and batch.cursor


def test_emoji_and_a_very_long_post(fake: FakeBluesky) -> None:
    long_text = "Paquetto " + "ñ🚚" * 20_000
    fake.add(make_post("3ka", "Paquetto 😡📦", ago(2)), make_post("3kb", long_text, ago(1)))
    texts = [m.text for m in source(fake).fetch(QUERY, None).mentions]
    assert texts == [long_text, "Paquetto 😡📦"] and len(texts[0]) == 40_009


def test_a_missing_author_still_maps(fake: FakeBluesky) -> None:
    post = make_post("3ka", "Paquetto", ago(1), handle="handle.invalid")
    del post["author"]["displayName"]
    fake.add(post)
    (mention,) = source(fake).fetch(QUERY, None).mentions
    assert mention.author_handle is None and mention.author_name is None
    assert mention.url == f"https://bsky.app/profile/{post['author']['did']}/post/3ka"
    assert post_to_mention({**post, "author": None}).author_handle is None


def test_query_terms_exclusions_and_language(fake: FakeBluesky) -> None:
    query = Query("p", ("Paquetto Express", "@paquetto"), exclusions=("job",), languages=("es",))
    assert search_terms(query) == ['"Paquetto Express" -job', "paquetto -job"]
    fake.add(make_post("3ka", "Paquetto job", ago(1)), make_post("3kb", "paquetto sí", ago(1)))
    mentions = source(fake).fetch(query, None).mentions
    assert [m.text for m in mentions] == ["paquetto sí"]
    assert {s["lang"][0] for s in fake.searches} == {"es"}


def test_credentials_come_only_from_the_environment() -> None:
    with pytest.raises(ValueError, match="PULSO_BLUESKY_HANDLE"):
        BlueskySettings.model_validate({}, context={"environ": {}})
    env = {"PULSO_BLUESKY_HANDLE": "a.bsky.social", "PULSO_BLUESKY_APP_PASSWORD": "x"}
    with pytest.raises(ValueError, match="not read from the config file"):
        BlueskySettings.model_validate({"app_password": "inline"}, context={"environ": env})


def test_a_refused_session_logs_in_again_next_tick(fake: FakeBluesky) -> None:
    src = source(fake)
    src.fetch(QUERY, None)
    fake.fail("status", 401)
    with pytest.raises(SourceError, match="refused"):
        src.fetch(QUERY, None)
    src.fetch(QUERY, None)
    assert fake.sessions == 2
