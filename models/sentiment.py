"""Sentiment scoring behind one interface: `score(texts) -> list[Sentiment]`.

Engines implement `predict(texts, langs)` on normalised, distinct, non-empty texts;
`CachingScorer` wraps any engine with normalisation, language detection, a cache
(reposts and copypasta cost nothing) and the empty-text rule.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from models.normalize import normalize

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """A text's sentiment: label, score in [-1, 1], confidence, language and engine."""

    label: Label
    score: float
    confidence: float
    lang: str | None
    engine: str


class Scorer(Protocol):
    """Anything that scores a batch of raw texts, in order."""

    name: str

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """Score `texts`, returning one Sentiment per text in the same order."""
        ...


class Engine(Protocol):
    """A sentiment model: normalised, distinct, non-empty texts in; one result each out."""

    name: str

    def predict(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[Sentiment]:
        """Score `texts`; `langs[i]` is the detected language of `texts[i]`, if known."""
        ...


def label_for(score: float, negative_below: float, positive_above: float) -> Label:
    """Map a score in [-1, 1] to a label with the configured thresholds."""
    if score <= negative_below:
        return "negative"
    if score >= positive_above:
        return "positive"
    return "neutral"


def from_probabilities(probs: Sequence[float], lang: str | None, engine: str) -> Sentiment:
    """A Sentiment from (negative, neutral, positive) probabilities."""
    best = max(range(3), key=lambda i: probs[i])
    score = float(probs[2]) - float(probs[0])
    return Sentiment(LABELS[best], round(score, 4), round(float(probs[best]), 4), lang, engine)


LanguageDetector = Callable[[Sequence[str]], list[str | None]]


class CachingScorer:
    """Normalise, detect language, score each distinct text once, remember recent results."""

    def __init__(
        self,
        engine: Engine,
        detect: LanguageDetector | None = None,
        cache_size: int = 50_000,
    ) -> None:
        self.engine = engine
        self.name = engine.name
        self.detect = detect
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Sentiment] = OrderedDict()
        self._lock = threading.Lock()

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """One Sentiment per text, in order; empty texts are neutral with no language."""
        keys = [normalize(t) for t in texts]
        with self._lock:
            known = {k: self._cache[k] for k in set(keys) if k in self._cache}
        todo = sorted({k for k in keys if k and k not in known})
        if todo:
            langs = self.detect(todo) if self.detect else [None] * len(todo)
            results = self.engine.predict(todo, langs)
            fresh = dict(zip(todo, results, strict=True))
            known.update(fresh)
            self._remember(fresh)
        empty = Sentiment("neutral", 0.0, 1.0, None, self.name)
        return [known[k] if k else empty for k in keys]

    def _remember(self, fresh: dict[str, Sentiment]) -> None:
        with self._lock:
            self._cache.update(fresh)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
