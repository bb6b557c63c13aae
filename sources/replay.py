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

    def problems(self) -> list[str]:
        """A replay file that is not there (check-config says so before the first run)."""
        if self.path != "bundled" and (not Path(self.path).exists() or Path(self.path).is_dir()):
            where = "a relative path is read from the folder Pulso runs in"
            return [f"path: no such file: {self.path} ({where})"]
        return []


def resolve_path(path: str) -> Path:
    """The file a `path` setting names ("bundled" is the demo data shipped with Pulso)."""
    return BUNDLED if path == "bundled" else Path(path)


def load_mentions(path: Path) -> list[Mention]:
    """Read a JSONL file of mentions, sorted by time; bad lines are logged and skipped.

    Lines are decoded one by one, so a line that is not UTF-8 is one skipped line, not a
    file that cannot be read; a gzip file cut short keeps the lines before the cut.
    """
    mentions: list[Mention] = []
    try:
        with gzip.open(path) if path.suffix == ".gz" else path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                mention = _parse_line(path, number, raw)
                if mention is not None:
                    mentions.append(mention)
    except EOFError as exc:  # a truncated .gz: what came before it stands
        logger.warning("%s: ends early (%s); read %d mentions", path, exc, len(mentions))
    except OSError as exc:
        raise SourceError(f"cannot read replay file {path}: {exc}") from exc
    mentions.sort(key=lambda m: m.created_at)
    return mentions


def _parse_line(path: Path, number: int, raw: bytes) -> Mention | None:
    """The mention on one line, or None (logged) if it is blank or malformed."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        logger.warning("%s:%d: skipped a line that is not UTF-8: %s", path, number, exc.reason)
        return None
    if not line.strip():
        return None
    try:
        return Mention.from_dict(json.loads(line))
    except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:  # int(inf) overflows
        logger.warning("%s:%d: skipped a malformed mention: %s", path, number, exc)
        return None


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
