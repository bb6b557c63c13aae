"""The Hacker News source against a fake Algolia HN Search API that httpx really talks to."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import sources.common
from monitor.kernel.records import Batch
from sources.base import Query, RateLimited, SourceError
from sources.common import TransientError
from sources.hackernews import HackerNewsSettings, HackerNewsSource, search_terms
from tests.fakes.hn_api import FakeHN, comment, story

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T0 = int(NOW.timestamp()) - 3600
QUERY = Query(brand="acme", keywords=("acme",))


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries happen, without waiting."""
    monkeypatch.setattr(sources.common, "BASE_DELAY", 0.0)


@pytest.fixture
def fake() -> Iterator[FakeHN]:
    with FakeHN() as server:
        yield server


def source(fake: FakeHN, **settings: Any) -> HackerNewsSource:
    return HackerNewsSource(HackerNewsSettings(api_url=fake.base_url, **settings))


def drain(src: HackerNewsSource, cursor: str | None = None, query: Query = QUERY) -> list[Batch]:
    batches = [src.fetch(query, cursor, now=NOW)]
    while batches[-1].more:
        batches.append(src.fetch(query, batches[-1].cursor, now=NOW))
    return batches


def ids(batches: list[Batch]) -> list[str]:
    return [m.external_id for b in batches for m in b.mentions]


def test_first_page_maps_stories_and_comments(fake: FakeHN) -> None:
    fake.add(
        story(101, T0, "Acme &amp; friends", story_text="<p>Launch day</p><p>It's <i>out</i></p>"),
        comment(102, T0 + 5, 'Acme&#x27;s support is <a href="x">slow</a><p>Really', 101),
    )
    batch = source(fake).fetch(QUERY, None, now=NOW)
    assert not batch.more
    by_id = {m.external_id: m for m in batch.mentions}
    first, reply = by_id["101"], by_id["102"]
    assert first.source == "hackernews"
    assert first.text == "Acme & friends\n\nLaunch day\nIt's out"
    assert first.created_at == datetime.fromtimestamp(T0, UTC)
    assert first.url == "https://news.ycombinator.com/item?id=101"
    assert first.author_handle == "pg" and first.author_name is None
    assert first.author_followers is None and first.lang is None
    assert (first.likes, first.reposts, first.replies) == (12, 0, 3)
    assert not first.is_repost and not first.is_quote and first.parent_id is None
    assert reply.text == "Acme's support is slow\nReally"
    assert reply.author_handle == "dang" and reply.parent_id == "101"
    assert (reply.likes, reply.replies) == (0, 0)
    params = fake.requests[0]["params"]
    assert params["query"] == "acme" and params["tags"] == "(story,comment)"
    assert params["numericFilters"] == f"created_at_i>={int(NOW.timestamp()) - 24 * 3600}"
    assert params["page"] == "0"


def test_pages_until_done_then_resumes_with_only_newer_hits(fake: FakeHN) -> None:
    fake.add(*(story(i, T0 + i, f"acme {i}") for i in range(1, 6)))
    batches = drain(source(fake, hits_per_page=2))
    assert [b.more for b in batches] == [True, True, False]
    assert ids(batches) == ["5", "4", "3", "2", "1"]
    assert fake.requests[1]["params"]["numericFilters"].endswith(f"created_at_i<={T0 + 5}")

    # A restart: a new instance given the saved cursor sees only what is new,
    # including a post in the very second of the newest one collected.
    fake.add(story(7, T0 + 5, "acme same second"), story(8, T0 + 9, "acme later"))
    again = drain(source(fake, hits_per_page=2), batches[-1].cursor)
    assert ids(again) == ["8", "7"]
    assert ids(drain(source(fake), again[-1].cursor)) == []


def test_a_crash_mid_sweep_resumes_without_gap_or_duplicate(fake: FakeHN) -> None:
    fake.add(*(story(i, T0 + i, f"acme {i}") for i in range(1, 6)))
    src = source(fake, hits_per_page=2)
    first = src.fetch(QUERY, None, now=NOW)
    fake.add(story(9, T0 + 50, "acme arrived mid-sweep"))  # must not shift the window
    rest = drain(source(fake, hits_per_page=2), first.cursor)
    assert ids([first, *rest]) == ["5", "4", "3", "2", "1"]
    assert ids(drain(source(fake, hits_per_page=2), rest[-1].cursor)) == ["9"]


def test_max_pages_ends_a_sweep(fake: FakeHN) -> None:
    fake.add(*(story(i, T0 + i, f"acme {i}") for i in range(1, 6)))
    batches = drain(source(fake, hits_per_page=2, max_pages=1))
    assert ids(batches) == ["5", "4"] and not batches[-1].more


def test_each_keyword_is_its_own_query_within_one_round(fake: FakeHN) -> None:
    fake.add(story(1, T0, "acme rocks"), story(2, T0 + 1, "the Acme Widget rocks"))
    query = Query(brand="acme", keywords=("acme", "#acme", "Acme Widget"), exclusions=("x",))
    assert search_terms(query) == ["acme", '"Acme Widget"']
    batches = drain(source(fake), query=query)
    assert [b.more for b in batches] == [True, False]
    assert ids(batches) == ["2", "1", "2"]  # the pipeline drops the repeat by key
    assert [r["params"]["query"] for r in fake.requests] == ["acme", '"Acme Widget"']
    assert ids(drain(source(fake), batches[-1].cursor, query=query)) == []


def test_rate_limit_gives_retry_after(fake: FakeHN) -> None:
    fake.fail_next("ratelimited", retry_after="42")
    with pytest.raises(RateLimited) as caught:
        source(fake).fetch(QUERY, None, now=NOW)
    assert caught.value.retry_after == 42.0
    assert len(fake.requests) == 1  # never retried on the spot


def test_a_server_error_is_retried(fake: FakeHN) -> None:
    fake.add(story(1, T0, "acme"))
    fake.fail_next("server_error")
    assert ids([source(fake).fetch(QUERY, None, now=NOW)]) == ["1"]
    assert len(fake.requests) == 2


def test_persistent_server_errors_give_up(fake: FakeHN) -> None:
    fake.fail_next("server_error", times=5)
    with pytest.raises(TransientError):
        source(fake).fetch(QUERY, None, now=NOW)
    assert len(fake.requests) == 3


def test_a_slow_server_times_out(fake: FakeHN) -> None:
    fake.fail_next("timeout", times=3, delay=2.0)
    with pytest.raises(TransientError, match="timed out"):
        source(fake, timeout_seconds=0.2).fetch(QUERY, None, now=NOW)
    assert len(fake.requests) == 3


def test_malformed_json_is_a_source_error(fake: FakeHN) -> None:
    fake.fail_next("malformed")
    with pytest.raises(SourceError, match="not JSON") as caught:
        source(fake).fetch(QUERY, None, now=NOW)
    assert not isinstance(caught.value, TransientError)


def test_empty_result_keeps_the_high_water_mark(fake: FakeHN) -> None:
    batch = source(fake).fetch(QUERY, None, now=NOW)
    assert batch.mentions == [] and not batch.more
    state = json.loads(batch.cursor or "")
    assert state["terms"]["acme"]["since"] == int(NOW.timestamp()) - 24 * 3600


def test_unicode_long_text_and_a_deleted_author(fake: FakeHN) -> None:
    long_text = "acme " + "é" * 40_000
    fake.add(
        comment(1, T0, "acme 😡 <b>naïve</b> — 日本語", 9, author=None),
        story(2, T0 + 1, "acme", story_text=long_text),
    )
    batch = source(fake).fetch(QUERY, None, now=NOW)
    by_id = {m.external_id: m for m in batch.mentions}
    assert set(by_id) == {"1", "2"} and batch.mentions[0].external_id == "2"
    assert by_id["1"].text == "acme 😡 naïve — 日本語" and by_id["1"].author_handle is None
    assert by_id["2"].text == "acme\n\n" + long_text
