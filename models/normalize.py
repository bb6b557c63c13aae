"""Text as the models see it: the same normalisation for every engine, and its cache key."""

from __future__ import annotations

import html
import re
import unicodedata

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,50}")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEART = re.compile(r"<3+")
_RETWEET = re.compile(r"^(?:RT\s+@\w{1,50}:?\s+)+")
_SURROGATE = re.compile("[\ud800-\udfff]")

URL_TOKEN = "http"
USER_TOKEN = "@user"
# The placeholders as words, for code that wants a post's words without them.
PLACEHOLDERS = re.compile(rf"{re.escape(USER_TOKEN)}|\b{URL_TOKEN}\b")


def encodable(text: str) -> str:
    """`text` as valid Unicode: surrogate pairs joined, a lone surrogate as U+FFFD.

    Models hash or tokenise UTF-8, which has no lone surrogates (a JSON post may hold
    `"\\ud83d"`): one such text used to fail its whole batch.
    """
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def normalize(text: str) -> str:
    """URLs and @handles to placeholders, HTML entities decoded, emoji kept, spaces folded.

    `<3` becomes a heart emoji, and a leading `RT @handle:` is dropped.

    The placeholders are the ones the Cardiff tweet models were trained with.
    """
    text = unicodedata.normalize("NFC", html.unescape(encodable(text)))
    text = _CONTROL.sub(" ", text)
    # A retweet says what the original says: same text, scored once.
    text = _RETWEET.sub("", text.lstrip())
    # "<3" is a heart: as an emoji it means the same, and "<" stops looking like praise.
    text = _HEART.sub("\u2764", text)
    text = _URL.sub(URL_TOKEN, text)
    text = _HANDLE.sub(USER_TOKEN, text)
    return _SPACE.sub(" ", text).strip()
