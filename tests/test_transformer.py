"""The transformer engine on tiny real models built on disk: loading, batching, labels."""

from __future__ import annotations

import logging
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from models.sentiment import CachingScorer, Sentiment
from models.transformer import (
    DEFAULT_MODEL,
    ModelNotAvailable,
    TransformerEngine,
    UnsupportedLabels,
    label_columns,
)
from tests.tiny_models import SENTENCES, build_tiny_classifier, tiny_vocabulary

THREE = {0: "negative", 1: "neutral", 2: "positive"}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and CI machines are often busy)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny_models")


@pytest.fixture(scope="module")
def random_model(models_dir: Path) -> Path:
    """Random but seeded weights: different texts get clearly different results."""
    return build_tiny_classifier(models_dir / "random", THREE, seed=0)


@pytest.fixture(scope="module")
def engine(random_model: Path) -> TransformerEngine:
    return TransformerEngine(str(random_model))


@pytest.fixture(scope="module")
def reference(random_model: Path) -> dict[str, Sentiment]:
    """Each sentence scored alone: nothing to pad, sort or batch."""
    alone = TransformerEngine(str(random_model), batch_size=1)
    return {text: alone.predict([text], ["en"])[0] for text in SENTENCES}


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every lookup or connection tried (the autouse guard still blocks them), with the
    Hub's offline switch off, so nothing passes merely because HF_HUB_OFFLINE=1."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    attempts: list[Any] = []
    guarded_lookup = socket.getaddrinfo
    guarded_connect = socket.socket.connect

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(host)
        return guarded_lookup(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        guarded_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture
def hub_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty Hugging Face cache, whatever the developer has downloaded."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def same(a: Sentiment, b: Sentiment) -> bool:
    """Equal up to float noise from different batch shapes (scores are rounded to 1e-4)."""
    return (
        (a.label, a.lang, a.engine) == (b.label, b.lang, b.engine)
        and abs(a.score - b.score) <= 2e-4
        and abs(a.confidence - b.confidence) <= 2e-4
    )


def test_importing_the_engine_does_not_import_torch() -> None:
    code = (
        "import sys, models.transformer\n"
        "heavy = {'torch', 'transformers', 'huggingface_hub'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_results_come_back_in_input_order_with_their_languages(
    engine: TransformerEngine, reference: dict[str, Sentiment]
) -> None:
    langs = ["es" if i % 2 else "en" for i in range(len(SENTENCES))]
    results = engine.predict(SENTENCES, langs)

    assert [r.lang for r in results] == langs
    assert all(r.engine == "transformer" for r in results)
    for text, lang, result in zip(SENTENCES, langs, results, strict=True):
        expected = reference[text]
        assert same(
            result,
            Sentiment(expected.label, expected.score, expected.confidence, lang, "transformer"),
        )
    # The random model is not constant: order mix-ups would show.
    assert len({r.score for r in results}) > len(SENTENCES) // 2
    assert {r.label for r in results} >= {"negative", "positive"}


@pytest.mark.parametrize("batch_size", [1, 2, 7, 64])
def test_batch_size_and_input_order_do_not_change_results(
    random_model: Path, reference: dict[str, Sentiment], batch_size: int
) -> None:
    texts = list(SENTENCES)
    random.Random(batch_size).shuffle(texts)
    results = TransformerEngine(str(random_model), batch_size=batch_size).predict(
        texts, ["en"] * len(texts)
    )
    assert all(same(r, reference[t]) for t, r in zip(texts, results, strict=True))


def test_scores_and_confidences_stay_in_range(engine: TransformerEngine) -> None:
    for result in engine.predict(SENTENCES, [None] * len(SENTENCES)):
        assert -1.0 <= result.score <= 1.0
        assert 1 / 3 - 1e-4 <= result.confidence <= 1.0
        assert result.lang is None


def test_long_texts_are_truncated_to_max_length_tokens(engine: TransformerEngine) -> None:
    # Every corpus word is one token, so 126 words + <s> + </s> fill max_length=128.
    words = [piece[1:] for piece, _ in tiny_vocabulary() if piece.startswith("▁") and piece != "▁"]
    long_text = " ".join(words[i % len(words)] for i in range(5_000))
    first_tokens = " ".join(long_text.split()[:126])

    [long_result, head_result] = engine.predict([long_text, first_tokens], ["en", "en"])

    assert same(long_result, head_result)
    shorter = TransformerEngine(engine.model, max_length=16)
    [long_16, head_16] = shorter.predict([long_text, " ".join(long_text.split()[:14])], [None] * 2)
    assert same(long_16, head_16)
    assert not same(long_16, engine.predict([" ".join(long_text.split()[:15])], [None])[0])


@pytest.mark.parametrize(
    ("id2label", "winner", "meaning"),
    [
        (THREE, 2, "positive"),
        ({0: "Positive", 1: "Negative", 2: "Neutral"}, 0, "positive"),
        ({0: "NEU", 1: "POS", 2: "NEG"}, 1, "positive"),
        ({0: "positivo", 1: "neutro", 2: "negativo"}, 2, "negative"),
        ({0: "Neutral", 1: "Negative", 2: "Positive"}, 0, "neutral"),
    ],
)
def test_labels_are_read_from_the_model_config(
    tmp_path: Path, id2label: dict[int, str], winner: int, meaning: str
) -> None:
    # The bias makes column `winner` win; only id2label says what that column means.
    folder = build_tiny_classifier(tmp_path / "model", id2label, winner=winner)

    results = TransformerEngine(str(folder)).predict(SENTENCES[:5], ["en"] * 5)

    assert {r.label for r in results} == {meaning}
    assert all(r.confidence > 0.999 for r in results)
    expected_score = {"positive": 1.0, "negative": -1.0, "neutral": 0.0}[meaning]
    assert all(abs(r.score - expected_score) < 1e-3 for r in results)


def test_a_two_class_model_works(tmp_path: Path) -> None:
    folder = build_tiny_classifier(tmp_path / "two", {0: "NEG", 1: "POS"}, seed=3)

    results = TransformerEngine(str(folder)).predict(SENTENCES, ["en"] * len(SENTENCES))

    assert {r.label for r in results} <= {"negative", "positive"}
    # No neutral mass: score = p_pos - p_neg = ±(2 * confidence - 1).
    assert all(abs(abs(r.score) - (2 * r.confidence - 1)) <= 2e-4 for r in results)
    forced = build_tiny_classifier(tmp_path / "forced", {0: "NEG", 1: "POS"}, winner=0)
    assert {r.label for r in TransformerEngine(str(forced)).predict(["hola"], ["es"])} == {
        "negative"
    }


def test_unmappable_labels_fail_naming_the_labels_and_the_model(tmp_path: Path) -> None:
    folder = build_tiny_classifier(tmp_path / "generic", {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})

    with pytest.raises(UnsupportedLabels) as caught:
        TransformerEngine(str(folder)).predict(["hello"], ["en"])

    message = str(caught.value)
    assert "LABEL_0" in message and "LABEL_2" in message and str(folder) in message


@pytest.mark.parametrize(
    "id2label",
    [
        {0: "1 star", 1: "2 stars", 2: "3 stars"},
        {0: "negative", 1: "neg", 2: "positive"},  # two columns claim "negative"
        {0: "negative", 1: "neutral"},  # no positive
        {0: "joy", 1: "anger"},
    ],
)
def test_label_columns_rejects_what_it_cannot_read(id2label: dict[int, str]) -> None:
    with pytest.raises(UnsupportedLabels, match=repr(next(iter(id2label.values())))):
        label_columns(id2label)


def test_label_columns_accepts_the_common_spellings() -> None:
    assert label_columns({0: "negative", 1: "neutral", 2: "positive"}) == (0, 1, 2)
    assert label_columns({0: "Positive", 1: "Negative", 2: "Neutral"}) == (1, 2, 0)
    assert label_columns({0: " POS ", 1: "neu", 2: "Neg"}) == (2, 1, 0)
    assert label_columns({0: "negativo", 1: "neutro", 2: "positivo"}) == (0, 1, 2)
    assert label_columns({1: "positive", 0: "negative"}) == (0, None, 1)


@pytest.mark.parametrize(
    "model", ["pulso-tests/not-a-real-model", "/nonexistent/pulso/model", None]
)
def test_a_missing_model_fails_fast_without_touching_the_network(
    network_attempts: list[Any], hub_cache: Path, model: str | None
) -> None:
    engine = TransformerEngine(model) if model else TransformerEngine()
    started = time.perf_counter()

    with pytest.raises(ModelNotAvailable) as caught:
        engine.predict(["hello"], ["en"])

    assert time.perf_counter() - started < 2.0
    assert network_attempts == []
    message = str(caught.value)
    assert repr(model or DEFAULT_MODEL) in message
    assert "hf download" in message and "sentiment.model" in message


@pytest.mark.parametrize(
    ("missing", "hint"),
    [
        ("model.safetensors", "Is the folder complete"),
        ("tokenizer.json", "sentencepiece"),  # what older hub models (XLM-R's) look like
    ],
)
def test_a_broken_model_folder_fails_with_a_hint(
    random_model: Path, tmp_path: Path, missing: str, hint: str
) -> None:
    folder = shutil.copytree(random_model, tmp_path / "broken")
    (folder / missing).unlink()
    if missing == "tokenizer.json":
        (folder / "sentencepiece.bpe.model").write_bytes(b"not a real sentencepiece model")

    with pytest.raises(ModelNotAvailable) as caught:
        TransformerEngine(str(folder)).load()

    assert str(folder) in str(caught.value) and hint in str(caught.value)


def test_a_hub_id_loads_from_the_local_cache_without_the_network(
    network_attempts: list[Any], hub_cache: Path, random_model: Path, engine: TransformerEngine
) -> None:
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = hub_cache / "models--pulso-tests--tiny-sentiment"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    shutil.copytree(random_model, repo / "snapshots" / revision)

    cached = TransformerEngine("pulso-tests/tiny-sentiment").predict(SENTENCES[:3], ["en"] * 3)

    assert all(map(same, cached, engine.predict(SENTENCES[:3], ["en"] * 3)))
    assert network_attempts == []


def test_threads_sets_torch_threads(random_model: Path) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        TransformerEngine(str(random_model), threads=3).load()
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_concurrent_first_calls_load_the_model_once(
    random_model: Path, reference: dict[str, Sentiment], caplog: pytest.LogCaptureFixture
) -> None:
    fresh = TransformerEngine(str(random_model), batch_size=4)
    results: dict[int, list[Sentiment]] = {}
    start = threading.Barrier(4)

    def work(n: int) -> None:
        start.wait()
        results[n] = fresh.predict(SENTENCES, ["en"] * len(SENTENCES))

    with caplog.at_level(logging.INFO, logger="models.transformer"):
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    loads = [r for r in caplog.records if "loaded in" in r.getMessage()]
    assert len(loads) == 1 and str(random_model) in loads[0].getMessage()
    assert len(results) == 4
    for batch in results.values():
        assert all(same(r, reference[t]) for t, r in zip(SENTENCES, batch, strict=True))


class CountingEngine:
    """Wraps an engine to record what it is asked to score."""

    def __init__(self, inner: TransformerEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[list[str]] = []

    def predict(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[Sentiment]:
        self.calls.append(list(texts))
        return self.inner.predict(texts, langs)


def test_works_behind_the_caching_scorer(
    engine: TransformerEngine, reference: dict[str, Sentiment]
) -> None:
    counting = CountingEngine(engine)
    scorer = CachingScorer(
        counting, detect=lambda texts: ["es" if "ó" in t else "en" for t in texts]
    )
    texts = ["", SENTENCES[0], f"  {SENTENCES[0]} ", SENTENCES[20], "   ", SENTENCES[0]]

    results = scorer.score(texts)

    assert counting.calls == [sorted({SENTENCES[0], SENTENCES[20]})]
    assert results[0] == Sentiment("neutral", 0.0, 1.0, None, "transformer") == results[4]
    assert results[1] == results[2] == results[5]
    assert same(results[1], reference[SENTENCES[0]])
    assert results[3].lang == "es" and results[3].label == reference[SENTENCES[20]].label

    assert scorer.score([SENTENCES[20], SENTENCES[0]]) == [results[3], results[1]]
    assert len(counting.calls) == 1


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        TransformerEngine("x", batch_size=0)
    with pytest.raises(ValueError):
        TransformerEngine("x", max_length=1)
    with pytest.raises(ValueError):
        TransformerEngine("x", threads=0)
    with pytest.raises(ValueError):
        TransformerEngine("x").predict(["a", "b"], ["en"])
    assert TransformerEngine("never-loaded").predict([], []) == []
