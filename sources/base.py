"""What every source shares: its settings base, the query it answers, its errors."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from monitor.records import Batch


class SourceError(Exception):
    """A source could not fetch this time; the job gives up until its next tick."""


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


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for, derived from a brand's settings."""

    brand: str
    keywords: tuple[str, ...]
    exclusions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


class Source(abc.ABC):
    """A platform that yields mentions page by page from a cursor."""

    name: ClassVar[str]
    Settings: ClassVar[type[SourceSettings]]

    def __init__(self, settings: SourceSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def fetch(self, query: Query, cursor: str | None) -> Batch:
        """Return the next page of mentions after `cursor` and the cursor after it."""
