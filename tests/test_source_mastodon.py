"""The Mastodon source against a fake instance that the real Mastodon.py talks to."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sources.base import Query, RateLimited, SourceError
from sources.common import TransientError
from sources.mastodon import MastodonSettings, MastodonSource, html_to_text, status_to_mention
from tests.fakes.mastodon_api import FakeMastodon, make_status

QUERY = Query(brand="paquetto", keywords=("Paquetto",))


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    """A fake instance on 127.0.0.1."""
    with FakeMastodon() as server:
        yield server


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


NOW = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)


def source(fake: FakeMastodon, **settings: Any) -> MastodonSource:
    """A source reading the fake instance."""
    return MastodonSource(
        MastodonSettings(instances=(fake.base_url,), **settings), clock=lambda: NOW
    )


def test_first_page_maps_every_field(fake: FakeMastodon) -> None:
    fake.add(
        make_status(
            7,
            "<p>¡Hola <a href='https://remote.example/tags/paquetto'>#<span>Paquetto</span></a>"
            " &amp; co!</p><p>línea 1<br>línea 2</p>",
            created_at="2026-11-29T10:07:00.000Z",
            favourites_count=5,
            reblogs_count=2,
            replies_count=1,
            in_reply_to_id="6",
            in_reply_to_account_id="108",
        )
    )
    batch = source(fake).fetch(QUERY, None)
    assert not batch.more
    (mention,) = batch.mentions
    assert mention.source == "mastodon"
    assert mention.external_id == "https://remote.example/users/ana/statuses/7"
    assert mention.url == "https://remote.example/@ana/7"
    assert mention.text == "¡Hola #Paquetto & co!\nlínea 1\nlínea 2"
    assert mention.created_at == datetime(2026, 11, 29, 10, 7, tzinfo=UTC)
    assert (mention.author_handle, mention.author_name) == ("ana@remote.example", "Ana 🌵")
    assert mention.author_followers == 321
    assert mention.lang == "es"
    assert (mention.likes, mention.reposts, mention.replies) == (5, 2, 1)
    assert not mention.is_repost and not mention.is_quote
    assert mention.parent_id == "6"
    assert json.loads(batch.cursor or "") == {fake.base_url: {"paquetto": make_status(7, "")["id"]}}


def test_a_reblog_and_a_quote_are_flagged() -> None:
    original = make_status(3, "<p>Paquetto again</p>", favourites_count=9)
    reblog = make_status(4, "", reblog=original)
    quote = make_status(5, "<p>look</p>", quote={"state": "accepted", "quoted_status": original})
    assert status_to_mention(reblog).is_repost
    assert status_to_mention(reblog).text == "Paquetto again"
    assert status_to_mention(reblog).likes == 9
    assert status_to_mention(quote).is_quote


def test_pages_forward_then_resumes_after_a_restart(fake: FakeMastodon) -> None:
    fake.add(*(make_status(i, f"<p>Paquetto {i}</p>") for i in range(1, 6)))
    first = source(fake, page_size=2).fetch(QUERY, None)  # no cursor: from `lookback_hours` ago
    assert [m.text for m in first.mentions] == ["Paquetto 2", "Paquetto 1"]
    assert not first.mentions or first.more  # a full page may have more after it
    fake.add(*(make_status(i, f"<p>Paquetto {i}</p>") for i in range(6, 11)))
    restarted = source(fake, page_size=2)  # a new process, given the saved cursor
    seen: list[str] = [m.text for m in first.mentions]
    cursor = first.cursor
    pages = 0
    while True:
        batch = restarted.fetch(QUERY, cursor)
        seen += [m.text for m in batch.mentions]
        cursor, pages = batch.cursor, pages + 1
        if not batch.more:
            break
    assert sorted(seen) == sorted(f"Paquetto {i}" for i in range(1, 11))
    assert len(seen) == len(set(seen))
    expected = [[make_status(i, "")["id"]] for i in (2, 4)]
    assert [p.get("min_id") for p in fake.timeline_requests()][1:3] == expected
    assert restarted.fetch(QUERY, cursor).mentions == []


def test_max_pages_ends_a_run_and_the_next_tick_goes_on(fake: FakeMastodon) -> None:
    fake.add(*(make_status(i, f"<p>Paquetto {i}</p>") for i in range(1, 9)))
    src = source(fake, page_size=2, max_pages=2)
    cursor = json.dumps({fake.base_url: {"paquetto": "0"}})
    first = src.fetch(QUERY, cursor)
    second = src.fetch(QUERY, first.cursor)
    assert first.more and not second.more
    third = src.fetch(QUERY, second.cursor)
    assert [m.text for m in third.mentions] == ["Paquetto 6", "Paquetto 5"]


def test_rate_limit_raises_with_the_reset_time(fake: FakeMastodon) -> None:
    fake.fail("status", 429)
    with pytest.raises(RateLimited) as caught:
        source(fake).fetch(QUERY, None)
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 121


def test_a_server_error_is_retried(fake: FakeMastodon, sleeps: list[float]) -> None:
    fake.add(make_status(1, "<p>Paquetto</p>"))
    fake.fail("status", 500)
    assert len(source(fake).fetch(QUERY, None).mentions) == 1
    assert len(sleeps) == 1


def test_a_persistent_server_error_gives_up(fake: FakeMastodon, sleeps: list[float]) -> None:
    fake.fail("status", 503, times=3)
    with pytest.raises(TransientError):
        source(fake).fetch(QUERY, None)
    assert len(sleeps) == 2


def test_a_timeout_is_transient(fake: FakeMastodon, sleeps: list[float]) -> None:
    fake.fail("sleep", 0.5, times=3)
    with pytest.raises(TransientError):
        source(fake, timeout_seconds=0.1).fetch(QUERY, None)


def test_malformed_json_is_a_source_error(fake: FakeMastodon) -> None:
    fake.fail("garbage")
    with pytest.raises(SourceError, match="mastodon"):
        source(fake).fetch(QUERY, None)


def test_empty_result_keeps_the_cursor(fake: FakeMastodon) -> None:
    cursor = json.dumps({fake.base_url: {"paquetto": "42"}})
    batch = source(fake).fetch(QUERY, cursor)
    assert batch.mentions == [] and not batch.more
    assert json.loads(batch.cursor or "") == {fake.base_url: {"paquetto": "42"}}


def test_emoji_and_a_very_long_post(fake: FakeMastodon) -> None:
    long_text = "Paquetto " + "ñ🚚" * 20_000
    fake.add(make_status(1, "<p>Paquetto 😡📦 ¿dónde está?</p>"), make_status(2, long_text))
    texts = {m.external_id[-1]: m.text for m in source(fake).fetch(QUERY, None).mentions}
    assert texts["1"] == "Paquetto 😡📦 ¿dónde está?"
    assert texts["2"] == long_text and len(texts["2"]) == 40_009


def test_a_missing_author_still_maps(fake: FakeMastodon) -> None:
    fake.add(make_status(1, "<p>Paquetto</p>", account={"id": "5", "acct": "", "username": ""}))
    (mention,) = source(fake).fetch(QUERY, None).mentions
    assert mention.author_handle is None and mention.author_name is None
    assert mention.author_followers is None and mention.text == "Paquetto"


def test_languages_filter_and_keyword_hashtags() -> None:
    query = Query("p", keywords=("Paquetto Express", "#Paquetto", "@paquetto"), languages=("en",))
    settings = MastodonSettings(hashtags=("#envios",))
    from sources.mastodon import hashtags_for

    assert hashtags_for(query, settings.hashtags) == ["paquettoexpress", "paquetto", "envios"]
    assert html_to_text("<p>a &lt;b&gt;</p>") == "a <b>"


def test_the_token_comes_only_from_the_environment() -> None:
    env = {"PULSO_MASTODON_ACCESS_TOKEN": "tok"}
    settings = MastodonSettings.model_validate({}, context={"environ": env})
    assert settings.token is not None and settings.token.get_secret_value() == "tok"
    with pytest.raises(ValueError, match="PULSO_MASTODON_ACCESS_TOKEN"):
        MastodonSettings.model_validate({"token": "inline"})


def test_search_finds_posts_without_the_hashtag_and_resumes(fake: FakeMastodon) -> None:
    # Posts under another tag that name the brand in their text: only search finds them.
    fake.add(*(make_status(i, f"<p>my Paquetto parcel {i}</p>", tag="other") for i in range(1, 4)))
    fake.add(make_status(9, "<p>nothing to see</p>", tag="other"))
    hashtag_only = source(fake).fetch(QUERY, None)
    assert hashtag_only.mentions == []
    searching = source(fake, search=True)
    first = searching.fetch(QUERY, None)
    assert sorted(m.text for m in first.mentions) == [f"my Paquetto parcel {i}" for i in (1, 2, 3)]
    searches = [params for path, params in fake.requests if path == "/api/v2/search"]
    assert searches[-1]["q"] == ["Paquetto"] and searches[-1]["type"] == ["statuses"]
    fake.add(make_status(12, "<p>Paquetto again</p>", tag="other"))
    again = source(fake, search=True).fetch(QUERY, first.cursor)  # after a restart
    assert [m.text for m in again.mentions] == ["Paquetto again"]
