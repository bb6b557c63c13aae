"""Sentiment scoring behind one interface: `score(texts) -> list[Sentiment]`."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

logger = logging.getLogger(__name__)

Label = Literal["negative", "neutral", "positive"]

_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """A text's sentiment: label, score in [-1, 1], confidence, language and engine."""

    label: Label
    score: float
    confidence: float
    lang: str | None
    engine: str


class Scorer(Protocol):
    """Anything that scores a batch of texts, in order."""

    name: str

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """Score `texts`, returning one Sentiment per text in the same order."""
        ...


def normalize(text: str) -> str:
    """Text as a scorer should see it: URLs replaced, whitespace folded."""
    return _SPACE.sub(" ", _URL.sub("http", text)).strip()


def label_for(score: float, negative_below: float, positive_above: float) -> Label:
    """Map a score in [-1, 1] to a label with the configured thresholds."""
    if score <= negative_below:
        return "negative"
    if score >= positive_above:
        return "positive"
    return "neutral"


class VaderScorer:
    """VADER (English word list): fast, no download; Spanish mostly comes out neutral."""

    name = "vader"

    def __init__(self, negative_below: float = -0.05, positive_above: float = 0.05) -> None:
        self.negative_below = negative_below
        self.positive_above = positive_above
        self._analyzer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                self._analyzer = SentimentIntensityAnalyzer()
            return self._analyzer

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """Score each distinct normalised text once (reposts cost nothing)."""
        analyzer = self._load()
        cache: dict[str, Sentiment] = {}
        results: list[Sentiment] = []
        for text in texts:
            key = normalize(text)
            if key not in cache:
                compound = float(analyzer.polarity_scores(key)["compound"])
                label = label_for(compound, self.negative_below, self.positive_above)
                confidence = abs(compound) if label != "neutral" else 1.0 - abs(compound)
                cache[key] = Sentiment(label, compound, round(confidence, 4), None, self.name)
            results.append(cache[key])
        return results


ENGINES: dict[str, type[VaderScorer]] = {"vader": VaderScorer}


def build_scorer(engine: str, negative_below: float, positive_above: float) -> Scorer:
    """The scorer a configuration names."""
    try:
        cls = ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown sentiment engine {engine!r}; known: {sorted(ENGINES)}") from None
    return cls(negative_below=negative_below, positive_above=positive_above)
