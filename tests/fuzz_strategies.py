"""Hypothesis strategies for hostile platform payloads, shaped like each platform's JSON.

Every field takes its documented type most of the time and, otherwise, a hostile value:
lone surrogates, NUL and control characters, bidi overrides, zero-width characters,
10,000-character strings, huge and negative numbers, infinities, the wrong JSON type, or
no value at all. Shapes follow the fixtures in tests/test_source_*.py.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import cache
from typing import Any

from hypothesis import strategies as st

# Pieces hostile posts are made of (each also appears in a real attack or a real bug).
SNIPPETS = (
    "\ud83d",  # a lone high surrogate (JSON "\ud83d")
    "\udc00",  # a lone low surrogate
    "\ud83d\ude00",  # a pair written as two escapes: one emoji
    "\x00",
    "\x07\x1b[31m",
    "\r\nBcc: victim@example.com",
    "\u202e",  # right-to-left override
    "\u2066\u2069",  # isolates
    "\u200b\u2060\ufeff",  # zero width space, word joiner, BOM
    "\u200d",  # zero width joiner (emoji need it)
    "\x85\x9f",  # C1 controls
    "<!channel>",
    "<@U024BE7LH>",
    "<#C0PULSO>",
    "@here",
    "*bold* _it_ ~s~ `code`",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "</td></tr></table>",
    "'; DROP TABLE mentions;--",
    "&amp;&lt;&#0;&#xD800;",
    "https://x.com@evil.example/login",
    "javascript:alert(1)",
    "\uff21\uff23\uff2d\uff25",  # ACME in full width
    "ACME",
    "\U0001f4a9" * 20,
    "\uffff\ufffe",
    "e\u0301\u0301\u0301",
)
TIMESTAMPS = (
    "2026-11-20T12:00:00Z",
    "2026-11-20T12:00:00.123Z",
    "2026-11-20T12:00:00.123456789Z",
    "2026-11-20T12:00:00",  # no offset
    "2026-11-20T12:00:00+14:00",
    "2026-11-20",
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
    "1970-01-01T00:00:00Z",
    "2026-13-45T25:61:61Z",
    "2026-W47",
    "yesterday",
    "",
    "\x00",
    "2026-11-20T12:00:00Z\ud83d",
)


@cache
def long_text(size: int = 10_000) -> st.SearchStrategy[str]:
    """A string of about `size` characters made of one repeated piece."""
    return st.sampled_from(("a", "ACME ", "\u202e", "\ud83d", "\x00", "é", "💩")).map(
        lambda piece: piece * (size // len(piece))
    )


@cache
def hostile_text() -> st.SearchStrategy[str]:
    """Text mixing hostile pieces with arbitrary characters (surrogates included)."""
    any_char = st.characters(codec=None, exclude_categories=())
    pieces = st.one_of(st.sampled_from(SNIPPETS), st.text(any_char, max_size=12))
    return st.one_of(st.lists(pieces, max_size=8).map("".join), long_text())


@cache
def ordinary_text() -> st.SearchStrategy[str]:
    """A plain post."""
    return st.sampled_from(
        ("ACME lost my parcel", "Gracias ACME, todo perfecto", "ACME delivered early!", "")
    )


@cache
def text() -> st.SearchStrategy[str]:
    """Ordinary or hostile text."""
    return st.one_of(ordinary_text(), hostile_text())


@cache
def hostile_number() -> st.SearchStrategy[Any]:
    """Counts as a platform may send them, and as it should not."""
    return st.one_of(
        st.integers(0, 10_000),
        st.integers(-(2**80), 2**80),
        st.sampled_from((2**31 - 1, 2**31, 2**63, 2**70, -1, -(2**63))),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(("12", "1e3", "many", "", "NaN", "Infinity")),
    )


@cache
def wrong_type() -> st.SearchStrategy[Any]:
    """A JSON value of some other type than the field's."""
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=5),
    )
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=4), kids, max_size=3)
        ),
        max_leaves=6,
    )


def field(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The field's own kind of value three times in four; else a wrong-typed one."""
    return st.one_of(good, good, good, wrong_type())


@cache
def iso_time() -> st.SearchStrategy[str]:
    """ISO-8601 timestamps, ordinary and odd."""
    ordinary = st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat().replace("+00:00", "Z"))
    return st.one_of(ordinary, st.sampled_from(TIMESTAMPS), hostile_text())


@cache
def epoch() -> st.SearchStrategy[Any]:
    """Unix times, ordinary and out of range."""
    return st.one_of(
        st.integers(1_600_000_000, 1_900_000_000),
        st.floats(1_600_000_000, 1_900_000_000),
        st.integers(-(2**64), 2**64),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from((0, -1, 253402300800, "1764000000", "soon")),
    )


@cache
def an_id() -> st.SearchStrategy[Any]:
    """Platform ids: digits, strings of any kind (400 characters too), numbers."""
    return st.one_of(
        st.integers(1, 2**64).map(str),
        hostile_text().map(lambda s: s[:400]),
        st.integers(-(2**70), 2**70),
    )


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with these fields, each hostile at times, one or two sometimes missing."""
    values = st.fixed_dictionaries({name: field(value) for name, value in fields.items()})
    missing = st.lists(st.sampled_from(sorted(fields)), max_size=2)
    return st.builds(_without, values, missing)


def _without(data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name not in names}


def tweet() -> st.SearchStrategy[dict[str, Any]]:
    """An X API v2 tweet object."""
    ref = shaped({"type": st.sampled_from(("replied_to", "quoted", "retweeted")), "id": an_id()})
    metrics = shaped({f"{k}_count": hostile_number() for k in ("retweet", "reply", "like")})
    return shaped(
        {
            "id": an_id(),
            "text": text(),
            "author_id": st.sampled_from(("7", "8", "missing")),
            "created_at": iso_time(),
            "lang": st.one_of(st.sampled_from(("en", "es", "und")), hostile_text()),
            "public_metrics": metrics,
            "referenced_tweets": st.lists(ref, max_size=3),
            "note_tweet": shaped({"text": text()}),
        }
    )


def x_users() -> st.SearchStrategy[dict[str, dict[str, Any]]]:
    """The expanded users of a page, by id (what `parse_page` hands the mapper)."""
    user = shaped(
        {
            "username": hostile_text(),
            "name": hostile_text(),
            "public_metrics": shaped({"followers_count": hostile_number()}),
        }
    )
    return st.dictionaries(st.sampled_from(("7", "8")), user, max_size=2)


def reddit_thing() -> st.SearchStrategy[Any]:
    """A listing child: a post (t3) or a comment (t1), or something else."""
    data = shaped(
        {
            "name": an_id(),
            "created_utc": epoch(),
            "permalink": st.one_of(st.just("/r/x/comments/1/acme/"), hostile_text()),
            "author": st.one_of(st.sampled_from(("fan", "[deleted]")), hostile_text()),
            "score": hostile_number(),
            "body": text(),
            "title": text(),
            "selftext": text(),
            "num_comments": hostile_number(),
            "num_crossposts": hostile_number(),
            "crosspost_parent": st.one_of(st.none(), an_id()),
            "parent_id": an_id(),
        }
    )
    kind = st.sampled_from(("t1", "t3", "t1", "t3", "t5", "more"))
    return st.one_of(shaped({"kind": kind, "data": data}), wrong_type())


def mastodon_status() -> st.SearchStrategy[dict[str, Any]]:
    """A Mastodon Status entity as Mastodon.py returns it (created_at parsed already)."""
    account = shaped(
        {
            "acct": hostile_text(),
            "display_name": hostile_text(),
            "followers_count": hostile_number(),
        }
    )
    when = st.one_of(st.datetimes(timezones=st.just(UTC)), st.datetimes(), iso_time())
    post = {
        "id": an_id(),
        "uri": st.one_of(st.just("https://mastodon.social/users/fan/statuses/1"), an_id()),
        "content": st.one_of(text(), text().map(lambda t: f"<p>{t}</p><script>x</script>")),
        "created_at": when,
        "url": hostile_text(),
        "account": account,
        "language": st.one_of(st.just("en"), hostile_text()),
        "favourites_count": hostile_number(),
        "reblogs_count": hostile_number(),
        "replies_count": hostile_number(),
        "in_reply_to_id": st.one_of(st.none(), an_id()),
        "quote": st.one_of(st.none(), shaped({"quoted_status": st.just({"id": "1"})})),
    }
    inner = shaped(post)
    return shaped({**post, "reblog": st.one_of(st.none(), inner)}).map(
        lambda s: s if "id" in s else {**s, "id": "1"}  # `_page` keeps only statuses with an id
    )


def bluesky_post() -> st.SearchStrategy[dict[str, Any]]:
    """An app.bsky.feed.defs#postView (the search API's posts)."""
    record = shaped(
        {
            "text": text(),
            "createdAt": iso_time(),
            "langs": st.lists(st.one_of(st.just("en"), hostile_text()), max_size=2),
            "reply": shaped({"parent": shaped({"uri": an_id()})}),
        }
    )
    author = shaped(
        {
            "did": st.just("did:plc:abc"),
            "handle": st.one_of(st.just("handle.invalid"), hostile_text()),
            "displayName": hostile_text(),
            "followersCount": hostile_number(),
        }
    )
    uri = st.one_of(st.just("at://did:plc:abc/app.bsky.feed.post/3k"), an_id())
    post = shaped(
        {
            "record": record,
            "author": author,
            "embed": shaped({"$type": st.just("app.bsky.embed.record#view")}),
            "likeCount": hostile_number(),
            "repostCount": hostile_number(),
            "replyCount": hostile_number(),
        }
    )
    # `_page` keeps only posts with a uri and an indexedAt.
    return st.builds(lambda p, u, i: {**p, "uri": u, "indexedAt": i}, post, field(uri), iso_time())


def hn_hit() -> st.SearchStrategy[dict[str, Any]]:
    """An Algolia HN search hit (a story or a comment)."""
    return shaped(
        {
            "objectID": an_id(),
            "_tags": st.lists(st.sampled_from(("story", "comment", "author_x")), max_size=2),
            "comment_text": st.one_of(st.none(), text()),
            "title": text(),
            "story_text": st.one_of(st.none(), text()),
            "created_at_i": epoch(),
            "author": hostile_text(),
            "points": hostile_number(),
            "num_comments": hostile_number(),
            "parent_id": st.one_of(st.none(), an_id()),
        }
    )


def struct_time() -> st.SearchStrategy[Any]:
    """What feedparser gives for a date: a UTC struct_time, from year 1 to 9999."""
    return st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda d: time.struct_time((d.year, d.month, d.day, d.hour, d.minute, d.second, 0, 1, 0))
    )


def rss_entry() -> st.SearchStrategy[dict[str, Any]]:
    """A feedparser entry (text fields are strings, dates struct_time)."""
    return shaped(
        {
            "id": st.one_of(an_id(), st.just("  ")),
            "link": st.one_of(st.just("https://news.example/a"), hostile_text()),
            "title": text(),
            "summary": st.one_of(text(), text().map(lambda t: f"<p>{t}</p><script>x</script>")),
            "author": hostile_text(),
            "published_parsed": struct_time(),
            "updated_parsed": struct_time(),
            "title_detail": shaped({"language": st.one_of(st.just("en-GB"), hostile_text())}),
        }
    )


def replay_object() -> st.SearchStrategy[Any]:
    """A flat mention object as a replay file holds it, or some other JSON value."""
    mention = shaped(
        {
            "source": st.one_of(st.sampled_from(("x", "reddit", "rss")), hostile_text()),
            "external_id": an_id(),
            "text": text(),
            "created_at": iso_time(),
            "url": hostile_text(),
            "author_handle": hostile_text(),
            "author_name": hostile_text(),
            "author_followers": hostile_number(),
            "lang": hostile_text(),
            "likes": hostile_number(),
            "reposts": hostile_number(),
            "replies": hostile_number(),
            "is_repost": st.booleans(),
            "is_quote": st.booleans(),
            "parent_id": an_id(),
        }
    )
    return st.one_of(mention, mention, wrong_type())
