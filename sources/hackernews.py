"""Hacker News stories and comments through the public Algolia HN Search API.

`search_by_date` answers newest first, so each search term is swept back from the newest
hit to the high-water mark of the previous sweep (`created_at_i` plus the ids collected at
that very second). The sweep's upper bound is pinned on its first page, so later pages of
the same window do not shift when new posts arrive. Each page's cursor covers that page
and the earlier ones only: a restart resumes the sweep at the page it stopped on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from monitor.kernel.records import Batch, Mention, from_unix, utcnow
from sources.base import Query, Requirements, Source, SourceError, SourceSettings
from sources.common import MAPPING_ERRORS, html_to_text, http_get, to_mentions, with_retries

logger = logging.getLogger(__name__)
SKIPPED = "hackernews: skipped a malformed hit %s: %r"

API_URL = "https://hn.algolia.com/api/v1"
ITEM_URL = "https://news.ycombinator.com/item?id="


class HackerNewsSettings(SourceSettings):
    """Hacker News settings. No credentials: the Algolia HN Search API is public.

    ```yaml
    sources:
      hackernews:
        tags: "(story,comment)"   # Algolia tags filter: stories and comments
        hits_per_page: 100
        max_pages: 10             # per search term and sweep
        lookback_hours: 24        # how far back the very first sweep goes
        interval_seconds: 300
    ```
    """

    api_url: str = API_URL
    tags: str = "(story,comment)"
    hits_per_page: int = Field(default=100, ge=1, le=1000)
    max_pages: int = Field(default=10, ge=1, le=50)
    lookback_hours: int = Field(default=24, ge=1, le=24 * 30)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


def search_terms(query: Query) -> list[str]:
    """One Algolia query per keyword (it has no OR); phrases quoted, # and @ dropped.

    HN has no hashtags or handles, and Algolia splits on punctuation anyway. Exclusions
    are not sent: the HN index does not document negative terms, and the pipeline
    re-checks every text against the brand's exclusions.
    """
    terms: list[str] = []
    for keyword in query.keywords:
        word = keyword.strip().lstrip("#@").strip()
        term = f'"{word}"' if " " in word else word
        if term and term not in terms:
            terms.append(term)
    return terms


def hit_to_mention(hit: Mapping[str, Any]) -> Mention:
    """Map one Algolia HN hit (a story or a comment) to a Mention."""
    object_id = str(hit["objectID"])
    tags = hit.get("_tags") or []
    if "comment" in tags or hit.get("comment_text") is not None:
        text = html_to_text(hit.get("comment_text"))
    else:
        title = html_to_text(hit.get("title"))
        body = html_to_text(hit.get("story_text"))
        text = "\n\n".join(part for part in (title, body) if part)
    parent = hit.get("parent_id")
    return Mention(
        source="hackernews",
        external_id=object_id,
        text=text,
        created_at=from_unix(int(hit["created_at_i"])),
        url=ITEM_URL + object_id,
        author_handle=hit.get("author") or None,
        likes=int(hit.get("points") or 0),
        replies=int(hit.get("num_comments") or 0),
        parent_id=str(parent) if parent is not None else None,
    )


@dataclass(frozen=True, slots=True)
class TermSweep:
    """Cursor state of one search term.

    `since`/`seen`: the high-water second and the ids collected at it. While a sweep is
    in progress, `page` is the next page, `until` the window's pinned upper bound and
    `top` the ids collected at `until`.
    """

    since: int
    seen: tuple[str, ...] = ()
    page: int = 0
    until: int | None = None
    top: tuple[str, ...] = field(default=())

    def filters(self) -> str:
        """The `numericFilters` of this sweep's next page."""
        parts = [f"created_at_i>={self.since}"]
        if self.page > 0 and self.until is not None:
            parts.append(f"created_at_i<={self.until}")
        return ",".join(parts)

    def fresh(self, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The hits of a page that were not collected before."""
        seen = set(self.seen)
        return [
            h
            for h in hits
            if int(h["created_at_i"]) > self.since
            or (int(h["created_at_i"]) == self.since and str(h["objectID"]) not in seen)
        ]

    def advance(self, hits: list[dict[str, Any]], more: bool) -> tuple[TermSweep, bool]:
        """The state after a page of `hits`; True if this sweep has another page."""
        until = self.until
        if self.page == 0 and hits:
            until = max(int(h["created_at_i"]) for h in hits)
        top = self.top + tuple(
            str(h["objectID"])
            for h in hits
            if int(h["created_at_i"]) == until and str(h["objectID"]) not in self.top
        )
        if hits and more:
            return replace(self, page=self.page + 1, until=until, top=top), True
        if until is None:
            return TermSweep(self.since, self.seen), False
        if until == self.since:
            return TermSweep(self.since, tuple(dict.fromkeys(self.seen + top))), False
        return TermSweep(until, top), False

    def dump(self) -> dict[str, Any]:
        """The JSON form saved in the cursor."""
        return {
            "since": self.since,
            "seen": list(self.seen),
            "page": self.page,
            "until": self.until,
            "top": list(self.top),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> TermSweep:
        """Read the JSON form saved in the cursor."""
        return cls(
            since=int(data["since"]),
            seen=tuple(data.get("seen") or ()),
            page=int(data.get("page") or 0),
            until=data.get("until"),
            top=tuple(data.get("top") or ()),
        )


class HackerNewsSource(Source[HackerNewsSettings]):
    """Searches HN stories and comments by date, one page per `fetch`, term after term."""

    name: ClassVar[str] = "hackernews"
    Settings: ClassVar[type[SourceSettings]] = HackerNewsSettings
    requires: ClassVar[Requirements] = (("httpx", "httpx", "httpx"),)
    lookback_setting: ClassVar[str | None] = "lookback_hours"

    def fetch(self, query: Query, cursor: str | None, now: datetime | None = None) -> Batch:
        """Fetch the next page of the current term's sweep; `more` while a round goes on."""
        terms = search_terms(query)
        if not terms:
            return Batch(mentions=[], cursor=cursor, more=False)
        sweeps, pending = _load_cursor(cursor)
        pending = [t for t in pending if t in terms] or terms  # empty: a new round starts
        term = pending[0]
        start = int(((now or utcnow()) - timedelta(hours=self.settings.lookback_hours)).timestamp())
        sweep = sweeps.get(term) or TermSweep(since=start)
        hits, pages = self._search(term, sweep)
        mentions = to_mentions(sweep.fresh(hits), hit_to_mention, logger, SKIPPED, "objectID")
        more_pages = sweep.page + 1 < pages
        if more_pages and sweep.page + 1 >= self.settings.max_pages:
            logger.warning(
                "hackernews %s: stopped after %d pages; older hits of this sweep are skipped",
                term,
                self.settings.max_pages,
            )
            more_pages = False
        sweeps[term], going_on = sweep.advance(hits, more_pages)
        if not going_on:
            pending = pending[1:]
        logger.info("hackernews %s: page %d, %d new hits", term, sweep.page, len(mentions))
        state = {"pending": pending, "terms": {t: s.dump() for t, s in sweeps.items()}}
        return Batch(mentions=mentions, cursor=json.dumps(state), more=bool(pending))

    def _search(self, term: str, sweep: TermSweep) -> tuple[list[dict[str, Any]], int]:
        what = f"hackernews search {term!r}"
        params: dict[str, str | int] = {
            "query": term,
            "tags": self.settings.tags,
            "numericFilters": sweep.filters(),
            "page": sweep.page,
            "hitsPerPage": self.settings.hits_per_page,
        }
        url = self.settings.api_url.rstrip("/") + "/search_by_date"
        timeout = self.settings.timeout_seconds
        response = with_retries(lambda: http_get(url, what, timeout, params=params), what)
        try:
            payload = response.json()
        except ValueError as exc:
            raise SourceError(f"{what}: the answer is not JSON ({exc})") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("hits"), list):
            raise SourceError(f"{what}: unexpected answer, no 'hits' list")
        hits = [h for h in payload["hits"] if _valid(h)]
        if len(hits) < len(payload["hits"]):
            logger.warning("%s: skipped %d malformed hits", what, len(payload["hits"]) - len(hits))
        return hits, int(payload.get("nbPages") or 0)


def _valid(hit: Any) -> bool:
    """A hit with an id and a time that is one (the sweep's cursor is made of them)."""
    if not isinstance(hit, dict) or not hit.get("objectID"):
        return False
    try:
        from_unix(int(hit["created_at_i"]))  # not inf, not past year 9999
    except MAPPING_ERRORS:
        return False
    return True


def _load_cursor(cursor: str | None) -> tuple[dict[str, TermSweep], list[str]]:
    if not cursor:
        return {}, []
    try:
        data = json.loads(cursor)
        sweeps = {term: TermSweep.load(state) for term, state in data["terms"].items()}
        return sweeps, [str(t) for t in data.get("pending") or ()]
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("hackernews: ignored an unreadable cursor; starting over")
        return {}, []
