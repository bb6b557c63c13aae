"""Platforms Pulso collects from, each behind the same small interface.

The registry is explicit: a source whose client package is missing still appears here
and fails loudly at start only when a brand enables it.
"""

from __future__ import annotations

from sources.base import Query, RateLimited, Source, SourceError, SourceSettings
from sources.replay import ReplaySource

SOURCES: dict[str, type[Source]] = {
    ReplaySource.name: ReplaySource,
}

__all__ = ["SOURCES", "Query", "RateLimited", "Source", "SourceError", "SourceSettings"]
