"""Hashed character and word n-grams: the fast model's features, identical in training and use."""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterable
from itertools import pairwise

_WORD = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)
_REPEAT = re.compile(r"(.)\1{2,}")

NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "wont",
        "wouldnt",
        "shouldnt",
        "couldnt",
        "aint",
        "ni",
        "nunca",
        "nadie",
        "nada",
        "tampoco",
        "jamas",
        "sin",
    ]
)


def fold(text: str) -> str:
    """Lower-case, strip accents, squeeze letters repeated 3+ times to two ("noooo" → "noo")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _REPEAT.sub(r"\1\1", plain)


def tokens(text: str) -> list[str]:
    """Words and single symbols (emoji and punctuation kept as tokens)."""
    return _WORD.findall(fold(text).replace("'", "").replace("\u2019", ""))


def ngrams(text: str, char_range: tuple[int, int] = (2, 5)) -> Iterable[str]:
    """Word unigrams and bigrams (negation-marked) and character n-grams within words."""
    words = tokens(text)
    negated = False
    marked: list[str] = []
    for word in words:
        marked.append(f"NOT_{word}" if negated and word.isalnum() else word)
        if word in NEGATIONS or word == "no":
            negated = True
        elif not word.isalnum():
            negated = False
    yield from (f"w:{w}" for w in marked)
    yield from (f"b:{a}_{b}" for a, b in pairwise(marked))
    low, high = char_range
    for word in words:
        padded = f" {word} "
        for n in range(low, high + 1):
            for i in range(max(1, len(padded) - n + 1)):
                yield f"c:{padded[i : i + n]}"


def hashed(text: str, buckets: int) -> dict[int, float]:
    """Feature index → count for `text`, hashed into `buckets` (crc32: stable everywhere)."""
    counts: dict[int, float] = {}
    for gram in ngrams(text):
        index = zlib.crc32(gram.encode("utf-8")) % buckets
        counts[index] = counts.get(index, 0.0) + 1.0
    return counts
