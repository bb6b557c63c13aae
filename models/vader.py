"""VADER: an English word list. Fast and dependable on English; Spanish comes out neutral."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.lazy import Lazy
from models.sentiment import Sentiment, label_for


class VaderEngine:
    """vaderSentiment's compound score, labelled with the configured thresholds."""

    name = "vader"

    def __init__(self, negative_below: float = -0.05, positive_above: float = 0.05) -> None:
        self.negative_below = negative_below
        self.positive_above = positive_above
        self._analyzer: Lazy[Any] = Lazy(_analyzer)

    def predict(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[Sentiment]:
        """Score each text with VADER."""
        analyzer = self._analyzer.get()
        results = []
        for text, lang in zip(texts, langs, strict=True):
            compound = float(analyzer.polarity_scores(text)["compound"])
            label = label_for(compound, self.negative_below, self.positive_above)
            confidence = abs(compound) if label != "neutral" else 1.0 - abs(compound)
            results.append(Sentiment(label, compound, round(confidence, 4), lang, self.name))
        return results


def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()
