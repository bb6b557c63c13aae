"""The sentiment engines Pulso knows, by name (an explicit registry)."""

from __future__ import annotations

from models.sentiment import CachingScorer, Scorer
from models.vader import VaderEngine

ENGINE_NAMES = ("vader",)


def build_scorer(
    engine: str, negative_below: float = -0.05, positive_above: float = 0.05
) -> Scorer:
    """The scorer a configuration names, wrapped with normalisation and a cache."""
    if engine == "vader":
        return CachingScorer(VaderEngine(negative_below, positive_above))
    raise ValueError(f"unknown sentiment engine {engine!r}; known: {', '.join(ENGINE_NAMES)}")
