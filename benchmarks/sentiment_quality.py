"""Macro-F1 and accuracy of every sentiment engine on the validation splits.

    .venv/bin/python benchmarks/sentiment_quality.py [--data ../shared/data/sentiment]
        [--engines auto,embedded,vader,transformer] [--model PATH]

TweetEval's validation split shares tweets with XLM-T's English train split (both come
from SemEval-2017); those tweets are left out of the TweetEval figures here, so that no
engine is scored on text it was trained on.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from models.engines import EngineOptions, build_scorer
from models.normalize import normalize

LABELS = ("negative", "neutral", "positive")


def read(folder: Path, split: str) -> tuple[list[str], list[int]]:
    """Texts and labels of one split (files without a trailing newline, or with spaces)."""
    labels = [int(x) for x in (folder / f"{split}_labels.txt").read_text().split()]
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
    return [t.strip() for t in texts[: len(labels)]], labels


def macro_f1(gold: list[int], predicted: list[int]) -> tuple[float, float]:
    """(macro-F1, accuracy) over the three classes."""
    f1s = []
    for c in range(3):
        tp = sum(g == c and p == c for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, predicted, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return sum(f1s) / 3, accuracy


def datasets(root: Path) -> dict[str, tuple[list[str], list[int]]]:
    """The validation sets, TweetEval without the tweets XLM-T trains on."""
    sets = {
        "xlm-t en val": read(root / "xlm-t" / "english", "val"),
        "xlm-t es val": read(root / "xlm-t" / "spanish", "val"),
        "xlm-t all val": read(root / "xlm-t" / "all", "val"),
    }
    seen = {normalize(t) for t in read(root / "xlm-t" / "all", "train")[0]}
    texts, labels = read(root / "tweeteval", "val")
    kept = [(t, y) for t, y in zip(texts, labels, strict=True) if normalize(t) not in seen]
    sets[f"tweeteval val (unseen {len(kept)})"] = ([t for t, _ in kept], [y for _, y in kept])
    return sets


def main() -> None:
    """Print one row per engine and data set."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/sentiment"))
    parser.add_argument("--engines", default="auto,embedded,vader,transformer")
    parser.add_argument("--model", default=None, help="transformer model folder")
    args = parser.parse_args()
    sets = datasets(args.data)
    print(f"cores: {os.cpu_count()}")
    print(f"{'engine':<12} {'data':<28} {'n':>5} {'macro-F1':>9} {'accuracy':>9} {'s':>6}")
    for engine in args.engines.split(","):
        options = EngineOptions(
            engine=engine,
            model=args.model,
            languages=("en", "es", "pt", "fr", "de", "it", "ar", "hi"),
        )
        scorer = build_scorer(options)
        for name, (texts, gold) in sets.items():
            started = time.perf_counter()
            try:
                results = scorer.score(texts)
            except Exception as exc:  # a transformer that is not on this machine
                print(f"{engine:<12} {name:<28} not available: {type(exc).__name__}")
                break
            predicted = [LABELS.index(r.label) for r in results]
            f1, accuracy = macro_f1(gold, predicted)
            elapsed = time.perf_counter() - started
            row = f"{engine:<12} {name:<28} {len(gold):>5} {f1:>9.3f} {accuracy:>9.3f}"
            print(f"{row} {elapsed:>6.1f}")


if __name__ == "__main__":
    main()
