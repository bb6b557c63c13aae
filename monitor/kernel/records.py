"""The typed records every stage passes along: one definition, used everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Mention:
    """One post about a brand, as any source produces it (platform-neutral)."""

    source: str
    external_id: str
    text: str
    created_at: datetime
    url: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    lang: str | None = None
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    is_repost: bool = False
    is_quote: bool = False
    parent_id: str | None = None

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError(f"Mention {self.source}:{self.external_id} has a naive created_at")
        if self.created_at.utcoffset() != UTC.utcoffset(None):
            object.__setattr__(self, "created_at", self.created_at.astimezone(UTC))

    @property
    def key(self) -> tuple[str, str]:
        """The identity of a mention across runs: (platform, platform id)."""
        return (self.source, self.external_id)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mention:
        """Build a mention from a flat JSON object (the replay and fixture format)."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        missing = {"source", "external_id", "text", "created_at"} - known.keys()
        if missing:
            raise ValueError(f"mention is missing {', '.join(sorted(missing))}")
        created = known["created_at"]
        if isinstance(created, str):
            known["created_at"] = parse_utc(created)
        for name in ("likes", "reposts", "replies"):
            known[name] = int(known.get(name) or 0)
        return cls(**known)


def parse_utc(value: str) -> datetime:
    """Parse an ISO-8601 timestamp; a missing offset means UTC.

    ValueError if it is not one or has no UTC equivalent, TypeError if it is no string.
    """
    if not isinstance(value, str):
        raise TypeError(f"a timestamp must be a string, not {type(value).__name__}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise ValueError(f"timestamp out of range in UTC: {value[:40]!r}") from exc


def from_unix(seconds: float) -> datetime:
    """The UTC time of a Unix timestamp; ValueError if it has none (NaN, past year 9999)."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as exc:  # OSError: EOVERFLOW for some negative times
        raise ValueError(f"Unix time out of range: {seconds!r}") from exc


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Batch:
    """One page of a source's results and the cursor that resumes after it."""

    mentions: list[Mention]
    cursor: str | None
    more: bool = False
