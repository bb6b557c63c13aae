"""Does a post really talk about the brand? Platform search is fuzzy; we re-check the text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from monitor.kernel.records import Mention


def fold(text: str) -> str:
    """Case- and width-insensitive form of `text` for matching."""
    return unicodedata.normalize("NFKC", text).casefold()


def _pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    parts = [re.escape(fold(t.strip())) for t in terms if t.strip()]
    if not parts:
        return None
    # Whole words only: "paquetto" matches "@paquetto" and "#Paquetto", not "paquettos".
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?!\w)")


class BrandMatcher:
    """Keeps mentions that name the brand and none of its exclusions."""

    def __init__(self, keywords: Iterable[str], exclusions: Iterable[str] = ()) -> None:
        self.keywords = _pattern(keywords)
        self.exclusions = _pattern(exclusions)

    def matches(self, text: str) -> bool:
        """True if `text` names the brand and no exclusion."""
        folded = fold(text)
        if self.keywords is None or not self.keywords.search(folded):
            return False
        return not (self.exclusions and self.exclusions.search(folded))

    def select(self, mentions: Iterable[Mention]) -> list[Mention]:
        """The matching mentions, each (source, id) once, in order."""
        seen: set[tuple[str, str]] = set()
        kept: list[Mention] = []
        for mention in mentions:
            if mention.key not in seen and self.matches(mention.text):
                seen.add(mention.key)
                kept.append(mention)
        return kept
