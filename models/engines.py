"""The sentiment engines Pulso knows, by name (an explicit registry), and how to build one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.sentiment import CachingScorer, Engine, Scorer

ENGINE_NAMES = ("auto", "embedded", "vader", "transformer")


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """What building an engine may need (all optional but the name)."""

    engine: str = "auto"
    model: str | None = None
    threads: int | None = None
    batch_size: int = 32
    allow_download: bool = False
    languages: Sequence[str] = ("en", "es")
    negative_below: float = -0.05
    positive_above: float = 0.05


def build_engine(options: EngineOptions) -> Engine:
    """The engine `options.engine` names; heavy libraries load on first use."""
    name = options.engine
    if name == "vader":
        from models.vader import VaderEngine

        return VaderEngine(options.negative_below, options.positive_above)
    if name == "transformer":
        return _transformer(options)
    if name in ("embedded", "auto"):
        from models.embedded import EmbeddedEngine

        embedded = EmbeddedEngine(threads=options.threads)
        if name == "embedded":
            return embedded
        from models.auto import AutoEngine

        strong = _transformer(options) if options.model else None
        return AutoEngine(embedded, strong)
    raise ValueError(f"unknown sentiment engine {name!r}; known: {', '.join(ENGINE_NAMES)}")


def _transformer(options: EngineOptions) -> Engine:
    from models.transformer import DEFAULT_MODEL, TransformerEngine

    return TransformerEngine(
        model=options.model or DEFAULT_MODEL,
        batch_size=options.batch_size,
        threads=options.threads,
        allow_download=options.allow_download,
    )


def build_scorer(options: EngineOptions) -> Scorer:
    """The engine wrapped with normalisation, language identification and a cache."""
    from models.langid import LanguageIdentifier

    return CachingScorer(build_engine(options), LanguageIdentifier(options.languages))
