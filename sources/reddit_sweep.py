"""Reddit's cursor state: one sweep per stream, marked by creation second and ids.

Reddit lists newest first and pages back with `after`, and its items carry creation times
in whole seconds. So a stream's high-water mark is a second plus the ids collected at that
second: items created in the same second as the mark are neither lost nor collected twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Mark:
    """A creation second and the ids already collected at that second."""

    second: int
    ids: frozenset[str]

    def covers(self, second: int, fullname: str) -> bool:
        """Whether an item created at `second` was collected by the sweep that set this mark."""
        return second < self.second or (second == self.second and fullname in self.ids)

    def merge(self, items: Iterable[tuple[int, str]]) -> Mark:
        """This mark moved up to the newest of `items` (ids at the same second accumulate)."""
        mark = self
        for second, fullname in items:
            if second > mark.second:
                mark = Mark(second, frozenset({fullname}))
            elif second == mark.second:
                mark = Mark(second, mark.ids | {fullname})
        return mark

    def dump(self) -> list[Any]:
        """JSON form."""
        return [self.second, sorted(self.ids)]

    @classmethod
    def load(cls, value: Any) -> Mark | None:
        """Read the JSON form (None: nothing collected yet)."""
        if not value:
            return None
        return cls(int(value[0]), frozenset(str(i) for i in value[1]))


@dataclass(frozen=True, slots=True)
class StreamState:
    """One stream's sweep: `since` is final, `top` grows during the sweep, `token` pages back."""

    since: Mark | None = None
    top: Mark | None = None
    token: str | None = None
    pages: int = 0

    def dump(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "since": self.since.dump() if self.since else None,
            "top": self.top.dump() if self.top else None,
            "token": self.token,
            "pages": self.pages,
        }

    @classmethod
    def load(cls, value: Any) -> StreamState:
        """Read the JSON form."""
        if not isinstance(value, dict):
            return cls()
        return cls(
            Mark.load(value.get("since")),
            Mark.load(value.get("top")),
            value.get("token"),
            int(value.get("pages") or 0),
        )
