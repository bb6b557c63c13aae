"""The Reddit source against a fake Reddit API that the real praw talks to."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from monitor.kernel.records import Batch, Mention
from sources.base import Query, RateLimited, SourceError
from sources.common import TransientError
from sources.reddit import RedditSettings, RedditSource, build_query, to_mention
from tests.fakes.reddit_api import FakeReddit, comment, submission

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
QUERY = Query("paquetto", ("paquetto", "#colis rapide", "@paquetto_fr"), ("emploi",))
ENV = {"PULSO_REDDIT_CLIENT_ID": "app-id", "PULSO_REDDIT_CLIENT_SECRET": "app-secret"}


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    with FakeReddit() as server:
        yield server


def make(fake: FakeReddit, **settings: Any) -> RedditSource:
    config = {"oauth_url": fake.base_url, "reddit_url": fake.base_url, **settings}
    source = RedditSource(RedditSettings.model_validate(config, context={"environ": ENV}))
    source.waits = []  # type: ignore[attr-defined]
    source.sleep = source.waits.append  # type: ignore[attr-defined]
    return source


def collect(source: RedditSource, cursor: str | None = None) -> tuple[list[Mention], str | None]:
    """Fetch pages the way the pipeline does, until the sweep ends."""
    mentions: list[Mention] = []
    for _ in range(20):
        batch: Batch = source.fetch(QUERY, cursor)
        mentions += batch.mentions
        cursor = batch.cursor
        if not batch.more:
            return mentions, cursor
    raise AssertionError("the sweep never ended")


def test_a_post_and_a_comment_map_every_field(fake: FakeReddit) -> None:
    fake.posts.append(
        submission(
            "abc", T0 + 5, "Paquetto a perdu mon colis", "Trois semaines!", crosspost_parent="t3_x"
        )
    )
    fake.comments.append(comment("c1", T0 + 9, "Pareil chez moi", parent="t3_abc"))
    mentions, _ = collect(make(fake, comments=True))
    post, reply = mentions
    assert post == Mention(
        source="reddit",
        external_id="t3_abc",
        text="Paquetto a perdu mon colis\n\nTrois semaines!",
        created_at=datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC),
        url="https://www.reddit.com/r/france/comments/abc/a_title/",
        author_handle="alice",
        likes=12,
        reposts=1,
        replies=3,
        is_repost=True,
        parent_id=None,
    )
    assert reply == Mention(
        source="reddit",
        external_id="t1_c1",
        text="Pareil chez moi",
        created_at=datetime(2026, 1, 1, 0, 0, 9, tzinfo=UTC),
        url="https://www.reddit.com/r/france/comments/post/a_post/c1/",
        author_handle="bob",
        likes=4,
        parent_id="t3_abc",
    )
    (search_path, search), (comments_path, _) = fake.requests
    assert search_path == "/r/all/search/" and comments_path == "/r/all/comments/"
    assert search["sort"] == "new" and search["q"] == build_query(QUERY)
    assert "restrict_sr" not in search


def test_the_query_quotes_phrases_and_drops_sigils() -> None:
    assert build_query(QUERY) == '(paquetto OR "colis rapide" OR paquetto_fr) NOT emploi'
    with pytest.raises(SourceError, match="512"):
        build_query(Query("b", ("x" * 600,)))


def test_chosen_subreddits_are_searched_together(fake: FakeReddit) -> None:
    collect(make(fake, subreddits=["r/france", "paris"]))
    path, params = fake.requests[0]
    assert path == "/r/france+paris/search/" and params["restrict_sr"] == "on"


def test_without_search_every_new_post_is_listed(fake: FakeReddit) -> None:
    fake.posts.append(submission("p1", T0, "anything"))
    mentions, _ = collect(make(fake, search=False, subreddits=["france"]))
    assert [m.external_id for m in mentions] == ["t3_p1"]
    assert fake.requests[0][0] == "/r/france/new/"


def test_pages_go_back_until_the_sweep_ends(fake: FakeReddit) -> None:
    fake.posts += [submission(f"p{i}", T0 + i, f"post {i}") for i in range(5)]
    source = make(fake, page_size=2)
    first = source.fetch(QUERY, None)
    assert first.more and [m.external_id for m in first.mentions] == ["t3_p4", "t3_p3"]
    second = source.fetch(QUERY, first.cursor)
    third = source.fetch(QUERY, second.cursor)
    assert second.more and not third.more
    assert [m.external_id for m in second.mentions + third.mentions] == ["t3_p2", "t3_p1", "t3_p0"]
    assert fake.requests[1][1]["after"] == "t3_p3"


def test_a_restart_resumes_without_gaps_or_duplicates(fake: FakeReddit) -> None:
    fake.posts += [submission(f"p{i}", T0 + i, f"post {i}") for i in range(4)]
    page = make(fake, page_size=2).fetch(QUERY, None)  # the daemon dies after this page
    rest, cursor = collect(make(fake, page_size=2), page.cursor)
    assert [m.external_id for m in page.mentions + rest] == ["t3_p3", "t3_p2", "t3_p1", "t3_p0"]
    # Newer posts, one of them created in the same second as the newest one collected.
    fake.posts += [submission("tie", T0 + 3, "same second"), submission("p9", T0 + 9, "newer")]
    newer, cursor = collect(make(fake, page_size=2), cursor)
    assert [m.external_id for m in newer] == ["t3_p9", "t3_tie"]
    again, _ = collect(make(fake, page_size=2), cursor)
    assert again == []


def test_max_pages_ends_a_long_sweep(fake: FakeReddit) -> None:
    fake.posts += [submission(f"p{i}", T0 + i, f"post {i}") for i in range(6)]
    mentions, cursor = collect(make(fake, page_size=2, max_pages=2))
    assert len(mentions) == 4
    assert json.loads(cursor or "")["posts"]["since"] == [T0 + 5, ["t3_p5"]]


def test_a_429_is_rate_limited_with_the_reset_time(fake: FakeReddit) -> None:
    fake.fail("ratelimited")
    source = make(fake)
    with pytest.raises(RateLimited) as caught:
        source.fetch(QUERY, None)
    assert caught.value.retry_after == 42
    requests = len(fake.requests)
    with pytest.raises(RateLimited):  # the budget is spent: no request until the reset
        source.fetch(QUERY, None)
    assert len(fake.requests) == requests


def test_a_500_is_retried(fake: FakeReddit) -> None:
    fake.posts.append(submission("p1", T0, "post"))
    fake.fail("server_error")
    source = make(fake)
    assert [m.external_id for m in source.fetch(QUERY, None).mentions] == ["t3_p1"]
    assert len(source.waits) == 1 and len(fake.requests) == 2  # type: ignore[attr-defined]


def test_persistent_500s_give_up_with_a_transient_error(fake: FakeReddit) -> None:
    fake.fail("server_error", "server_error", "server_error")
    with pytest.raises(TransientError):
        make(fake).fetch(QUERY, None)
    assert len(fake.requests) == 3  # praw's own retries are off: ours are the only ones


def test_a_slow_server_times_out(fake: FakeReddit) -> None:
    fake.delay = 0.5
    fake.fail("timeout", "timeout", "timeout")
    with pytest.raises(TransientError, match="Timeout"):
        make(fake, timeout_seconds=0.1).fetch(QUERY, None)


def test_malformed_json_is_a_source_error(fake: FakeReddit) -> None:
    fake.fail("malformed")
    with pytest.raises(SourceError, match="malformed JSON"):
        make(fake).fetch(QUERY, None)


def test_refused_credentials_name_the_variables(fake: FakeReddit) -> None:
    fake.credentials = "other:secret"
    with pytest.raises(SourceError, match="PULSO_REDDIT_CLIENT_ID"):
        make(fake).fetch(QUERY, None)


def test_an_empty_result_keeps_the_cursor(fake: FakeReddit) -> None:
    batch = make(fake).fetch(QUERY, None)
    assert batch.mentions == [] and not batch.more
    fake.posts.append(submission("p1", T0, "post"))
    assert [m.external_id for m in make(fake).fetch(QUERY, batch.cursor).mentions] == ["t3_p1"]


def test_unicode_long_and_deleted_posts(fake: FakeReddit) -> None:
    fake.posts += [
        submission("u", T0 + 3, "Paquetto 📦💥 très déçu", "配達が遅い"),
        submission("long", T0 + 2, "Paquetto", "é" * 40_000),
        submission("gone", T0 + 1, "Paquetto", author=None),
    ]
    fake.comments.append(comment("c", T0, "[removed]", parent="t3_gone", author=None))
    unicode, long, gone, removed = collect(make(fake, comments=True))[0]
    assert unicode.text == "Paquetto 📦💥 très déçu\n\n配達が遅い"
    assert len(long.text) == len("Paquetto\n\n") + 40_000
    assert gone.author_handle is None and removed.author_handle is None


def test_a_malformed_item_is_skipped() -> None:
    with pytest.raises(KeyError):
        to_mention({"kind": "t3", "data": {"name": "t3_x"}})
    with pytest.raises(ValueError, match="kind"):
        to_mention({"kind": "t5", "data": {}})


def test_credentials_come_only_from_the_environment() -> None:
    with pytest.raises(ValidationError, match="PULSO_REDDIT_CLIENT_ID"):
        RedditSettings.model_validate({}, context={"environ": {}})
    with pytest.raises(ValidationError, match="not read from the config file"):
        RedditSettings.model_validate({"client_secret": "x"}, context={"environ": ENV})
    settings = RedditSettings.model_validate({}, context={"environ": ENV})
    assert "app-secret" not in repr(settings) and settings.subreddits == ("all",)
    with pytest.raises(ValidationError, match="subreddit"):
        RedditSettings.model_validate({"subreddits": ["no spaces"]}, context={"environ": ENV})


def test_a_missing_praw_is_named(fake: FakeReddit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "praw", None)
    with pytest.raises(SourceError, match="pip install praw"):
        make(fake).fetch(QUERY, None)
