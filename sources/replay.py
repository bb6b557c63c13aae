"""Replay a JSONL file of mentions as if they were arriving live (demo, tests, backfills)."""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from monitor.kernel.records import Batch, Mention, utcnow
from sources.base import Query, Source, SourceError, SourceSettings

logger = logging.getLogger(__name__)

BUNDLED = Path(__file__).parent / "data" / "demo_mentions.jsonl"


class ReplaySettings(SourceSettings):
    """Replay settings.

    ```yaml
    sources:
      replay:
        path: bundled        # or a .jsonl / .jsonl.gz file of flat mention objects
        align: now           # shift timestamps so the file ends at the first run
        interval_seconds: 60
    ```
    """

    path: str = "bundled"
    align: Literal["now", "none"] = "now"
    interval_seconds: int = Field(default=60, ge=5)
    page_size: int = Field(default=2000, ge=1)


def resolve_path(path: str) -> Path:
    """The file a `path` setting names ("bundled" is the demo data shipped with Pulso)."""
    return BUNDLED if path == "bundled" else Path(path)


def load_mentions(path: Path) -> list[Mention]:
    """Read a JSONL file of mentions, sorted by time; bad lines are logged and skipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    mentions: list[Mention] = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    mentions.append(Mention.from_dict(json.loads(line)))
                except (ValueError, TypeError) as exc:
                    logger.warning("%s:%d: skipped a malformed mention: %s", path, number, exc)
    except OSError as exc:
        raise SourceError(f"cannot read replay file {path}: {exc}") from exc
    mentions.sort(key=lambda m: m.created_at)
    return mentions


class ReplaySource(Source[ReplaySettings]):
    """Emits the mentions of a file whose (shifted) time has come, resuming from a cursor."""

    name: ClassVar[str] = "replay"
    Settings: ClassVar[type[SourceSettings]] = ReplaySettings

    def __init__(self, settings: ReplaySettings) -> None:
        super().__init__(settings)
        self._mentions: list[Mention] | None = None

    def mentions(self) -> list[Mention]:
        """The file's mentions, loaded once."""
        if self._mentions is None:
            self._mentions = load_mentions(resolve_path(self.settings.path))
        return self._mentions

    def fetch(self, query: Query, cursor: str | None, now: datetime | None = None) -> Batch:
        """Return up to `page_size` mentions that are due, after the cursor's offset."""
        now = now or utcnow()
        mentions = self.mentions()
        shift, offset = self._state(cursor, mentions, now)
        page: list[Mention] = []
        index = offset
        while index < len(mentions) and len(page) < self.settings.page_size:
            shifted = mentions[index].created_at + shift
            if shifted > now:
                break
            page.append(replace(mentions[index], created_at=shifted))
            index += 1
        more = index < len(mentions) and mentions[index].created_at + shift <= now
        state = {"shift_seconds": int(shift.total_seconds()), "offset": index}
        return Batch(mentions=page, cursor=json.dumps(state), more=more)

    def _state(
        self, cursor: str | None, mentions: list[Mention], now: datetime
    ) -> tuple[timedelta, int]:
        if cursor:
            state = json.loads(cursor)
            return timedelta(seconds=int(state["shift_seconds"])), int(state["offset"])
        if self.settings.align == "now" and mentions:
            # Whole seconds, so that a restart reproduces exactly the same timestamps.
            return timedelta(seconds=int((now - mentions[-1].created_at).total_seconds())), 0
        return timedelta(0), 0
