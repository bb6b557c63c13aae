"""Text and numbers made safe once, at the boundary: every mention a source returns passes here.

Platforms hand over what their users typed and what their counters say; some of it no
database or model accepts: a lone UTF-16 surrogate (`"\\ud83d"` in JSON) cannot be
encoded as UTF-8, PostgreSQL refuses a NUL in text, a count of 2^70 overflows an integer
column. One such post used to fail its whole page on every run. Here text gets U+FFFD for
a lone surrogate and loses its control characters (newline and tab stay), counts are
clamped to what the `mentions` columns hold, and bounded strings are cut to their column.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from monitor.kernel.display import CONTROLS
from monitor.kernel.records import Mention

logger = logging.getLogger(__name__)

# The count columns of `mentions` are INTEGER: 32-bit signed on PostgreSQL. Queries add
# likes, reposts and replies up (engagement) in that type, so each gets a third of it.
INTEGER_MAX = 2**31 - 1
COUNT_MAX = INTEGER_MAX // 3
COUNTS = ("likes", "reposts", "replies")
# The bounded string columns of `mentions` (tests check them against the schema).
LENGTHS = {
    "source": 32,
    "external_id": 300,
    "author_handle": 200,
    "author_name": 200,
    "lang": 16,
    "parent_id": 300,
}
TEXTS = ("text", "url")
# The controls (but tab and newline), and UTF-16 surrogates.
_UNSAFE = re.compile(f"[{CONTROLS}\ud800-\udfff]")
_CONTROL = re.compile(f"[{CONTROLS}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` with surrogate pairs joined, lone surrogates as U+FFFD, controls removed."""
    if not _UNSAFE.search(value):
        return value
    if _SURROGATE.search(value):
        # A pair written as two escapes is one character; a lone half cannot be encoded.
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROL.sub("", value)


def clamp_count(value: Any, top: int = COUNT_MAX) -> int:
    """A count as an int in [0, top]; what is not a number counts as 0."""
    try:
        number = int(value or 0)
    except (TypeError, ValueError, OverflowError):  # "abc", a dict, float("inf")
        return 0
    return min(max(number, 0), top)


def normalize_mention(mention: Mention) -> Mention:
    """The mention with safe text, counts in range and strings within their columns.

    Returns the same object when nothing needed a change (the usual case, kept cheap).
    """
    changes: dict[str, Any] = {}
    for name in TEXTS:
        _set_text(mention, name, None, changes)
    for name, limit in LENGTHS.items():
        _set_text(mention, name, limit, changes)
    for name in COUNTS:
        value = getattr(mention, name)
        if type(value) is not int or not 0 <= value <= COUNT_MAX:
            changes[name] = clamp_count(value)
    followers = mention.author_followers
    if followers is not None and (type(followers) is not int or not 0 <= followers <= INTEGER_MAX):
        changes["author_followers"] = clamp_count(followers, INTEGER_MAX)
    for name in ("is_repost", "is_quote"):
        if type(getattr(mention, name)) is not bool:
            changes[name] = bool(getattr(mention, name))
    if not changes:
        return mention
    logger.debug("normalised %s:%s: %s", mention.source, mention.external_id, sorted(changes))
    return replace(mention, **changes)


def _set_text(mention: Mention, name: str, limit: int | None, changes: dict[str, Any]) -> None:
    """Record in `changes` the clean (and cut) value of the string field `name`, if it differs."""
    value = getattr(mention, name)
    if value is None:
        if name in ("text", "source", "external_id"):
            changes[name] = ""
        return
    clean = clean_text(value if isinstance(value, str) else str(value))
    if limit is not None:
        clean = clean[:limit]
    if not isinstance(value, str) or clean != value:
        changes[name] = clean
