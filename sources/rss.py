"""RSS and Atom feeds (Google Alerts, review sites, news) through feedparser."""

from __future__ import annotations

import calendar
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote_plus

from pydantic import Field

from monitor.kernel.records import Batch, Mention, utcnow
from monitor.kernel.redact import snippet
from sources.base import Query, Source, SourceError, SourceSettings
from sources.common import MAPPING_ERRORS, html_to_text, http_get, with_retries

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


class RssSettings(SourceSettings):
    """RSS/Atom settings. No credentials: feeds are public URLs.

    ```yaml
    sources:
      rss:
        feeds:
          - https://www.google.com/alerts/feeds/0123456789/987654321
          - https://news.google.com/rss/search?q={query}&hl=en   # {query}: the brand's terms
        interval_seconds: 900
        timeout_seconds: 10
    ```
    """

    feeds: tuple[str, ...] = Field(min_length=1)
    interval_seconds: int = Field(default=900, ge=5)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


def feed_query(query: Query) -> str:
    """The search expression a `{query}` feed URL gets: OR-ed terms, phrases quoted."""
    terms = [f'"{k}"' if " " in k.strip() else k.strip() for k in query.keywords if k.strip()]
    expression = " OR ".join(terms)
    negatives = [f"-{e.strip()}" for e in query.exclusions if e.strip() and " " not in e.strip()]
    return " ".join([expression, *negatives]) if negatives else expression


def entry_time(entry: Mapping[str, Any]) -> datetime | None:
    """When an entry was published (else updated), in UTC; None if it carries no date."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            # feedparser normalises dates to UTC struct_time; timegm reads them as UTC.
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def entry_id(entry: Mapping[str, Any]) -> str | None:
    """An entry's identity: its id/guid, else its link, else its title."""
    for key in ("id", "link", "title"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def entry_to_mention(
    entry: Mapping[str, Any], feed_lang: str | None, fetched_at: datetime
) -> Mention:
    """Map one feedparser entry to a Mention (an undated entry gets `fetched_at`)."""
    external_id = entry_id(entry)
    if external_id is None:
        raise ValueError("entry has no id, link or title")
    title = html_to_text(entry.get("title"))
    summary = html_to_text(entry.get("summary"))
    text = "\n\n".join(part for part in (title, summary if summary != title else "") if part)
    return Mention(
        source="rss",
        external_id=external_id,
        text=text,
        created_at=entry_time(entry) or fetched_at,
        url=entry.get("link") or None,
        author_name=entry.get("author") or None,
        lang=_language(entry, feed_lang),
    )


def _language(entry: Mapping[str, Any], feed_lang: str | None) -> str | None:
    # Atom carries xml:lang per element; RSS only has the channel's <language>.
    detail = entry.get("title_detail") or entry.get("summary_detail") or {}
    value = detail.get("language") or feed_lang
    return value.split("-")[0].lower() if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the cursor remembers of one feed.

    `newest`: the newest entry time collected; `ids`: the entries collected at that time;
    `undated`: the undated entries the feed last showed; `etag`/`modified`: validators for
    a conditional GET.
    """

    newest: datetime | None = None
    ids: frozenset[str] = frozenset()
    undated: frozenset[str] = frozenset()
    etag: str | None = None
    modified: str | None = None

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> FeedState:
        """Read the JSON form saved in the cursor."""
        newest = data.get("newest")
        return cls(
            newest=datetime.fromisoformat(newest) if newest else None,
            ids=frozenset(data.get("ids") or ()),
            undated=frozenset(data.get("undated") or ()),
            etag=data.get("etag"),
            modified=data.get("modified"),
        )

    def dump(self) -> dict[str, Any]:
        """The JSON form saved in the cursor."""
        return {
            "newest": self.newest.isoformat() if self.newest else None,
            "ids": sorted(self.ids),
            "undated": sorted(self.undated),
            "etag": self.etag,
            "modified": self.modified,
        }

    def is_new(self, external_id: str, when: datetime | None) -> bool:
        """Whether an entry was not collected yet."""
        if when is None:
            return external_id not in self.undated
        if self.newest is None or when > self.newest:
            return True
        return when == self.newest and external_id not in self.ids

    def after(self, entries: list[tuple[str, datetime | None]]) -> FeedState:
        """The state once all of `entries` (id, time) are collected."""
        dated = [(eid, when) for eid, when in entries if when is not None]
        newest = max([when for _, when in dated], default=None)
        if newest is None or (self.newest is not None and newest < self.newest):
            newest, ids = self.newest, self.ids
        else:
            ids = frozenset(eid for eid, when in dated if when == newest)
            if newest == self.newest:
                ids |= self.ids
        undated = frozenset(eid for eid, when in entries if when is None)
        return FeedState(newest, ids, undated, self.etag, self.modified)


class RssSource(Source[RssSettings]):
    """Polls each feed with a conditional GET and yields the entries not collected yet."""

    name: ClassVar[str] = "rss"
    Settings: ClassVar[type[SourceSettings]] = RssSettings
    requires: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("httpx", "httpx", "httpx"),
        ("feedparser", "feedparser", "feedparser"),
    )

    def fetch(self, query: Query, cursor: str | None, now: datetime | None = None) -> Batch:
        """Fetch every feed once; a failing feed is logged and the others go on."""
        now = now or utcnow()
        saved = _load_cursor(cursor)
        states: dict[str, FeedState] = {}
        mentions: list[Mention] = []
        errors: list[SourceError] = []
        terms = quote_plus(feed_query(query))
        urls = [url.replace("{query}", terms) for url in self.settings.feeds]
        for url in urls:
            state = saved.get(url, FeedState())
            try:
                found, states[url] = self._poll(url, state, now)
            except SourceError as exc:
                logger.warning("rss: %s", exc)
                errors.append(exc)
                states[url] = state
                continue
            mentions.extend(found)
        if errors and len(errors) == len(urls):
            if len({type(e) for e in errors}) == 1:
                raise errors[0]
            raise SourceError(f"rss: all {len(urls)} feeds failed: {errors[0]}")
        logger.info("rss: %d new entries from %d feeds", len(mentions), len(urls) - len(errors))
        mentions.sort(key=lambda m: m.created_at)
        dumped = {url: state.dump() for url, state in states.items()}
        return Batch(mentions=mentions, cursor=json.dumps({"feeds": dumped}), more=False)

    def _poll(self, url: str, state: FeedState, now: datetime) -> tuple[list[Mention], FeedState]:
        what = f"rss feed {url}"
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        timeout = self.settings.timeout_seconds
        response = with_retries(lambda: http_get(url, what, timeout, headers=headers), what)
        if response.status_code == 304:
            logger.debug("%s: not modified", what)
            return [], state
        parsed = parse_feed(response.content, url, response.headers.get("content-type"))
        feed_lang = parsed.feed.get("language") if parsed.get("feed") else None
        mentions: list[Mention] = []
        entries: list[tuple[str, datetime | None]] = []
        for entry in parsed.entries:
            external_id = entry_id(entry)
            if external_id is None:
                logger.warning("%s: skipped an entry with no id, link or title", what)
                continue
            try:
                when = entry_time(entry)
                new = state.is_new(external_id, when)
                mention = entry_to_mention(entry, feed_lang, now) if new else None
            except MAPPING_ERRORS as exc:  # one odd entry loses only itself
                logger.warning("%s: skipped entry %r: %s", what, external_id[:80], exc)
                continue
            entries.append((external_id, when))
            if mention is not None:
                mentions.append(mention)
        after = state.after(entries)
        etag = response.headers.get("etag")
        modified = response.headers.get("last-modified")
        return mentions, FeedState(after.newest, after.ids, after.undated, etag, modified)


def parse_feed(content: bytes, url: str, content_type: str | None) -> Any:
    """Parse feed bytes with feedparser; a malformed feed with no entries is a SourceError."""
    try:
        import feedparser  # type: ignore[import-untyped]
    except ImportError as exc:
        hint = "pip install feedparser"
        raise SourceError(f"rss: the feedparser package is missing ({hint})") from exc
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Bytes, never a URL string: feedparser would fetch a URL itself, without our timeout.
    parsed = feedparser.parse(content, response_headers=headers)
    if parsed.get("bozo") and not parsed.get("entries"):
        reason = parsed.get("bozo_exception") or "not a feed"
        raise SourceError(f"rss feed {url}: malformed feed ({snippet(reason)})")
    return parsed


def _load_cursor(cursor: str | None) -> dict[str, FeedState]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        return {url: FeedState.load(state) for url, state in data["feeds"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("rss: ignored an unreadable cursor; starting over")
        return {}
