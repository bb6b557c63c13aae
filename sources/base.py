"""What every source shares: its settings base, the query it answers, its errors."""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from monitor.kernel.records import Batch
from monitor.kernel.redact import redact

# (module to import, package name, what to pip install) for each client library needed.
Requirements = tuple[tuple[str, str, str], ...]


class SourceError(Exception):
    """A source could not fetch this time; the job gives up until its next tick.

    Its message is redacted as it is built: it goes to the log, the database, `/healthz`
    and `pulso sources`, and an upstream answer may have put a credential in it.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(redact(message))


class RateLimited(SourceError):
    """The platform asked us to slow down; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceSettings(BaseModel):
    """Settings every source accepts; each source extends it next to its code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    interval_seconds: int = Field(default=300, ge=5, description="how often to collect")

    def problems(self) -> list[str]:
        """What `pulso check-config` should flag beyond validation (a file that is not
        there, say), as `key: message` lines; the daemon still starts, and the source
        fails with its own error until it is fixed."""
        return []


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for, derived from a brand's settings."""

    brand: str
    keywords: tuple[str, ...]
    exclusions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


# A source's own settings class. Covariant, so that a `Source[XSettings]` is also a
# `Source[SourceSettings]`: the registries and the runtime hold sources of every kind and
# read only what all settings share. Sound while `settings` is only ever set to the
# class's own settings (other settings make a new source, as `backfill` does).
S_co = TypeVar("S_co", bound=SourceSettings, covariant=True)


class Source(abc.ABC, Generic[S_co]):
    """A platform that yields mentions page by page from a cursor.

    A source class names its settings twice: as its type parameter (`XSource(Source[XSettings])`,
    so `self.settings` is an `XSettings`) and as `Settings`, which config validation reads.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[SourceSettings]]
    # The setting (in hours) that says how far back a first sweep goes, if the platform's
    # search can go back at all; `backfill` uses it.
    lookback_setting: ClassVar[str | None] = None
    # (module to import, package name, what to pip install) for each client library needed.
    requires: ClassVar[Requirements] = ()

    def __init__(self, settings: S_co) -> None:
        self.settings = settings

    def status_note(self, cursor: str | None) -> str:
        """A short note for `pulso sources` (an API budget, say); empty if nothing to say."""
        return ""

    def read_budget_left(self, cursor: str | None) -> int | None:
        """Reads left in the platform's paid budget (for `/metrics`); None if it has none."""
        return None

    def backfill(self, since: datetime, now: datetime) -> Self:
        """The same source, with its first sweep reaching back to `since`."""
        field = self.lookback_setting
        if field is None:
            raise SourceError(f"{self.name} cannot search back in time; nothing to backfill")
        hours = max(1, math.ceil((now - since).total_seconds() / 3600))
        kind = type(getattr(self.settings, field))
        limit = _limit(self.settings, field)
        if limit is not None and hours > limit:
            raise SourceError(
                f"{self.name} searches back {limit} hours at most; --since is {hours} hours ago"
            )
        update: dict[str, object] = {field: kind(hours)}
        pages = _limit(self.settings, "max_pages")
        if pages is not None:  # a backfill is not one tick: let its sweep run to the end
            update["max_pages"] = pages
        return type(self)(self.settings.model_copy(update=update))

    @abc.abstractmethod
    def fetch(self, query: Query, cursor: str | None) -> Batch:
        """Return the next page of mentions after `cursor` and the cursor after it."""


def _limit(settings: SourceSettings, field: str) -> int | None:
    """The upper bound (`le`) a settings field declares, if it has the field and a bound."""
    info = type(settings).model_fields.get(field)
    if info is None:
        return None
    return next((int(m.le) for m in info.metadata if hasattr(m, "le")), None)
