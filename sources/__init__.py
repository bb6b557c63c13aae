"""Platforms Pulso collects from, each behind the same small interface.

The registry is explicit: a source whose client package is missing still appears here
and fails loudly at start only when a brand enables it.
"""

from __future__ import annotations

from sources.base import Query, RateLimited, Source, SourceError, SourceSettings
from sources.bluesky import BlueskySource
from sources.hackernews import HackerNewsSource
from sources.mastodon import MastodonSource
from sources.reddit import RedditSource
from sources.replay import ReplaySource
from sources.rss import RssSource
from sources.x import XSource

SOURCES: dict[str, type[Source[SourceSettings]]] = {
    XSource.name: XSource,
    RedditSource.name: RedditSource,
    MastodonSource.name: MastodonSource,
    BlueskySource.name: BlueskySource,
    HackerNewsSource.name: HackerNewsSource,
    RssSource.name: RssSource,
    ReplaySource.name: ReplaySource,
}

__all__ = ["SOURCES", "Query", "RateLimited", "Source", "SourceError", "SourceSettings"]
