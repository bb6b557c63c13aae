"""The X source against a fake recent-search API that the real tweepy client talks to."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from monitor.kernel.records import Mention
from sources.base import Query, RateLimited, SourceError
from sources.common import TransientError
from sources.x import XSettings, XSource, build_query, tweet_to_mention
from tests.fakes.x_api import FakeX

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
QUERY = Query("acme", ("acme",))
BASE_ID = 1_860_000_000_000_000_000


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX() as server:
        yield server


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def settings(fake: FakeX, **values: Any) -> XSettings:
    environ = {"PULSO_X_BEARER_TOKEN": fake.token, "PULSO_X_API_URL": fake.base_url}
    return XSettings.model_validate(values, context={"environ": environ})


def source(fake: FakeX, now: datetime = NOW, **values: Any) -> XSource:
    return XSource(settings(fake, **values), clock=lambda: now)


def user(n: int) -> dict[str, Any]:
    return {
        "id": str(n),
        "username": f"fan{n}",
        "name": f"Fan {n}",
        "public_metrics": {
            "followers_count": 10 * n,
            "following_count": 5,
            "tweet_count": 40,
            "listed_count": 0,
            "like_count": 3,
        },
    }


def tweet(n: int, text: str = "", author: int = 7, **extra: Any) -> dict[str, Any]:
    created = NOW - timedelta(hours=1) + timedelta(seconds=n)
    post = {
        "id": str(BASE_ID + n),
        "text": text or f"acme post {n}",
        "edit_history_tweet_ids": [str(BASE_ID + n)],
        "author_id": str(author),
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "lang": "en",
        "conversation_id": str(BASE_ID + n),
        "public_metrics": {
            "retweet_count": 2,
            "reply_count": 3,
            "like_count": 5,
            "quote_count": 1,
            "bookmark_count": 0,
            "impression_count": 90,
        },
    }
    post.update(extra)
    return post


def publish(fake: FakeX, *numbers: int) -> None:
    for n in numbers:
        fake.add(tweet(n), user(7))


def ids(mentions: list[Mention]) -> list[int]:
    return [int(m.external_id) - BASE_ID for m in mentions]


def test_the_query_has_phrases_hashtags_handles_exclusions_and_languages() -> None:
    query = Query("acme", ("acme", "Acme Corp", "#acmefail", "@acme"), ("jobs",), ("en", "es"))
    assert build_query(query) == (
        '(acme OR "Acme Corp" OR #acmefail OR (@acme OR from:acme)) -jobs '
        "(lang:en OR lang:es) -is:retweet"
    )
    single = Query("acme", ("acme",), ("hiring now",), ("es",))
    assert build_query(single, include_reposts=True) == 'acme -"hiring now" lang:es'


def test_the_token_comes_from_the_environment_only(fake: FakeX) -> None:
    with pytest.raises(ValidationError, match="PULSO_X_BEARER_TOKEN"):
        XSettings.model_validate({}, context={"environ": {}})
    with pytest.raises(ValidationError, match="not read from the config file"):
        settings(fake, bearer_token="in-yaml")
    assert fake.token not in repr(settings(fake))


def test_the_first_page_maps_every_field(fake: FakeX) -> None:
    fake.add(
        tweet(
            1,
            "@acme my parcel is late",
            lang="en",
            referenced_tweets=[{"type": "replied_to", "id": "42"}],
        ),
        user(7),
    )
    fake.add(tweet(2, "so true", referenced_tweets=[{"type": "quoted", "id": "43"}]))
    batch = source(fake).fetch(QUERY, None)
    reply, quote = sorted(batch.mentions, key=lambda m: m.external_id)
    assert reply == Mention(
        source="x",
        external_id=str(BASE_ID + 1),
        text="@acme my parcel is late",
        created_at=NOW - timedelta(hours=1) + timedelta(seconds=1),
        url=f"https://x.com/fan7/status/{BASE_ID + 1}",
        author_handle="fan7",
        author_name="Fan 7",
        author_followers=70,
        lang="en",
        likes=5,
        reposts=2,
        replies=3,
        is_repost=False,
        is_quote=False,
        parent_id="42",
    )
    assert quote.is_quote and quote.parent_id == "43" and not quote.is_repost
    assert not batch.more
    sent = fake.requests[0]
    assert sent["query"] == "acme -is:retweet"
    assert sent["expansions"] == "author_id"
    assert {"created_at", "lang", "public_metrics", "referenced_tweets", "conversation_id"} <= set(
        sent["tweet.fields"].split(",")
    )
    assert sent["user.fields"] == "username,name,public_metrics"
    assert sent["start_time"] == "2026-11-19T12:00:00Z" and "since_id" not in sent


def test_a_repost_is_marked_as_such() -> None:
    post = tweet(3, "RT @acme: hi", referenced_tweets=[{"type": "retweeted", "id": "44"}])
    mention = tweet_to_mention(post, {"7": user(7)})
    assert mention.is_repost and mention.parent_id == "44"


def test_pages_go_back_then_the_sweep_ends_without_duplicates(fake: FakeX) -> None:
    publish(fake, *range(1, 26))
    x = source(fake, page_size=10)
    seen: list[int] = []
    cursor = None
    flags = []
    while True:
        batch = x.fetch(QUERY, cursor)
        seen += ids(batch.mentions)
        cursor = batch.cursor
        flags.append(batch.more)
        if not batch.more:
            break
    assert flags == [True, True, False]
    assert sorted(seen) == list(range(1, 26)) and len(seen) == 25
    assert json.loads(cursor or "")["since"] == str(BASE_ID + 25)
    assert fake.requests[1]["next_token"] and "next_token" not in fake.requests[0]


def test_max_pages_ends_a_run_and_the_next_tick_resumes(fake: FakeX) -> None:
    publish(fake, *range(1, 26))
    x = source(fake, page_size=10, max_pages=2)
    first = x.fetch(QUERY, None)
    second = x.fetch(QUERY, first.cursor)
    assert first.more and not second.more
    assert json.loads(second.cursor or "")["token"]  # the sweep is still in progress
    third = x.fetch(QUERY, second.cursor)
    assert ids(third.mentions) == [5, 4, 3, 2, 1] and not third.more


def test_a_restart_resumes_from_the_saved_cursor(fake: FakeX) -> None:
    publish(fake, *range(1, 16))
    first = source(fake, page_size=10).fetch(QUERY, None)
    assert first.more  # crash here: only this page and its cursor were saved
    publish(fake, 30, 31)  # new posts arrive while the daemon is down
    seen = ids(first.mentions)
    cursor = first.cursor
    restarted = source(fake, page_size=10)
    for _ in range(3):
        batch = restarted.fetch(QUERY, cursor)
        seen += ids(batch.mentions)
        cursor = batch.cursor
    assert sorted(seen) == [*range(1, 16), 30, 31] and len(seen) == 17
    since = [r.get("since_id") for r in fake.requests]
    assert since == [None, None, str(BASE_ID + 15), str(BASE_ID + 31)]
    publish(fake, 32)
    again = source(fake).fetch(QUERY, cursor)
    assert ids(again.mentions) == [32]
    assert fake.requests[-1]["since_id"] == str(BASE_ID + 31)


def test_a_429_gives_the_reset_time(fake: FakeX) -> None:
    reset = int(time.time()) + 120
    fake.fail_next("status", 429, headers={"x-rate-limit-reset": str(reset)})
    with pytest.raises(RateLimited) as caught:
        source(fake).fetch(QUERY, None)
    assert caught.value.retry_after is not None and 100 <= caught.value.retry_after <= 120
    assert len(fake.requests) == 1


def test_a_500_is_retried(fake: FakeX) -> None:
    publish(fake, 1)
    fake.fail_next("status", 500)
    batch = source(fake).fetch(QUERY, None)
    assert ids(batch.mentions) == [1] and len(fake.requests) == 2


def test_a_persistent_500_gives_up(fake: FakeX) -> None:
    fake.fail_next("status", 503, times=5)
    with pytest.raises(TransientError):
        source(fake).fetch(QUERY, None)
    assert len(fake.requests) == 3


def test_a_slow_server_times_out(fake: FakeX) -> None:
    fake.fail_next("sleep", 1.0, times=3)
    started = time.monotonic()
    with pytest.raises(TransientError, match="timed out"):
        source(fake, timeout_seconds=0.2).fetch(QUERY, None)
    assert time.monotonic() - started < 2.5


def test_malformed_json_is_a_source_error(fake: FakeX) -> None:
    fake.fail_next("raw", b'{"data": [')
    with pytest.raises(SourceError, match="malformed JSON") as caught:
        source(fake).fetch(QUERY, None)
    assert not isinstance(caught.value, TransientError)


def test_a_wrong_shape_is_a_source_error(fake: FakeX) -> None:
    fake.fail_next("raw", b'{"data": {"id": "1"}}')
    with pytest.raises(SourceError, match="malformed response"):
        source(fake).fetch(QUERY, None)


def test_a_refused_token_is_a_source_error(fake: FakeX) -> None:
    x = source(fake)
    fake.token = "revoked"
    with pytest.raises(SourceError, match="HTTP 401"):
        x.fetch(QUERY, None)


def test_an_empty_result_keeps_the_high_water_mark(fake: FakeX) -> None:
    cursor = json.dumps({"since": str(BASE_ID + 9), "top": None, "token": None})
    batch = source(fake).fetch(QUERY, cursor)
    assert batch.mentions == [] and not batch.more
    assert json.loads(batch.cursor or "")["since"] == str(BASE_ID + 9)


def test_unicode_long_posts_and_deleted_authors(fake: FakeX) -> None:
    long_text = "acme " + "é🙂" * 19_997 + "ok"
    assert len(long_text) == 40_001
    fake.add(tweet(1, "acme ¡qué mal! 😡🚚 日本語", lang="es"), user(7))
    fake.add(tweet(2, long_text[:280], note_tweet={"text": long_text}))
    fake.add(tweet(3, "acme from a deleted account", author=999))
    batch = source(fake).fetch(QUERY, None)
    by_id = {int(m.external_id) - BASE_ID: m for m in batch.mentions}
    assert by_id[1].text == "acme ¡qué mal! 😡🚚 日本語" and by_id[1].lang == "es"
    assert by_id[2].text == long_text
    gone = by_id[3]
    assert gone.author_handle is None and gone.author_name is None
    assert gone.author_followers is None
    assert gone.url == f"https://x.com/i/web/status/{BASE_ID + 3}"


def test_reads_are_counted_in_the_cursor_and_paced(fake: FakeX) -> None:
    publish(fake, *range(1, 26))
    # Two hours into a 30-day month with 3000 reads: about 8 allowed so far, under a page.
    early = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    paced = source(fake, early, monthly_read_budget=3000)
    batch = paced.fetch(QUERY, None)
    assert batch.mentions == [] and fake.requests == []
    # A day later about 100 are allowed: one page of up to 100, but only 25 exist.
    later = source(fake, early + timedelta(days=1), monthly_read_budget=3000)
    batch = later.fetch(QUERY, batch.cursor)
    assert fake.requests[0]["max_results"] == "100" and len(batch.mentions) == 25
    status = later.budget_status(batch.cursor)
    assert status["month"] == "2026-11" and status["reads"] == 25
    assert status["budget"] == 3000 and status["left"] == 2975
    # A new month starts the count again.
    december = source(fake, datetime(2026, 12, 15, tzinfo=UTC), monthly_read_budget=3000)
    assert december.budget_status(batch.cursor)["reads"] == 0


def test_an_exhausted_budget_stops_with_one_warning(
    fake: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    publish(fake, 1)
    x = source(fake, monthly_read_budget=100)
    cursor = json.dumps({"since": None, "month": "2026-11", "reads": 100})
    with caplog.at_level(logging.WARNING, logger="sources.x"):
        for _ in range(3):
            batch = x.fetch(QUERY, cursor)
            assert batch.mentions == [] and not batch.more
    assert fake.requests == []
    warnings = [r for r in caplog.records if "budget" in r.getMessage()]
    assert len(warnings) == 1 and x.budget_status()["left"] == 0


def test_a_changed_query_restarts_the_sweep_in_progress(fake: FakeX) -> None:
    publish(fake, *range(1, 16))
    first = source(fake, page_size=10).fetch(QUERY, None)
    assert first.more
    changed = Query("acme", ("acme", "acmecorp"))
    batch = source(fake, page_size=10).fetch(changed, first.cursor)
    assert "next_token" not in fake.requests[-1]  # the old token belongs to the old query
    assert ids(batch.mentions) == list(range(15, 5, -1))
