"""An XLM-R-base-sized sentiment classifier with random weights, built offline for timing.

The production model (cardiffnlp/twitter-xlm-roberta-base-sentiment) cannot be fetched
here, but its speed depends on its shape and on how many tokens a text becomes, not on
its weights. `build_reference_model(path)` saves a classifier of exactly its shape
(xlm-roberta-base: 250,002-token vocabulary, 768 hidden, 12 layers, 12 heads, 3,072
intermediate, 514 positions; labels negative/neutral/positive) with seeded random
weights, and a tokenizer, so that `transformers.pipeline("text-classification",
model=path, device=-1)` and Pulso's engines can be timed on it.

The tokenizer is not XLM-R's sentencepiece model. It is an XLM-R tokenizer class (a
Unigram model, the same pre-tokenisation) over a vocabulary estimated from the bundled
demo posts: every word seen there kept whole, 2-4 character pieces seen at least 5
times, single characters, each scored by log frequency. All ids fall inside the
250,002-row embedding. Token counts therefore differ from the real tokenizer's: on the
demo posts ours gives about 20 tokens per post (1.4 per word, <s> and </s> included);
XLM-R's, which we cannot run offline, probably gives 10-20% more, since it splits brand
names, @user, numbers and rarer words into more pieces, while its vocabulary covers
far more words and emoji that ours spells out or maps to <unk>. Time per token, not per
text, is the figure that carries over to the real model.

Run ``python -m benchmarks.reference_model DIR`` to build (or reuse) it in DIR.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import math
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from models.normalize import normalize

ID2LABEL = {0: "negative", 1: "neutral", 2: "positive"}
XLM_R_BASE: dict[str, Any] = {
    "vocab_size": 250_002,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-5,
    "bos_token_id": 0,
    "pad_token_id": 1,
    "eos_token_id": 2,
}
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")  # ids 0-4, as XLM-R's
STAMP = "pulso-reference-model.json"
_STAMP_CONTENT = {"version": 1, "config": XLM_R_BASE, "id2label": ID2LABEL}
_WORD = re.compile(r"[^\W_]+")


def demo_texts() -> list[str]:
    """The bundled demo posts, normalised as the engines see them (distinct, in file order)."""
    data = importlib.resources.files("sources").joinpath("data/demo_mentions.jsonl")
    texts = (normalize(json.loads(line)["text"]) for line in data.read_text("utf-8").splitlines())
    return list(dict.fromkeys(t for t in texts if t))


def reference_vocabulary(texts: Iterable[str]) -> list[tuple[str, float]]:
    """Unigram pieces with log-frequency scores: words whole, 2-4 character pieces, characters."""
    words: Counter[str] = Counter()
    characters: Counter[str] = Counter()
    for text in texts:
        words.update(_WORD.findall(text))
        characters.update(c for c in text if not c.isspace())
    fragments: Counter[str] = Counter()
    for word, count in words.items():
        for size in range(2, 5):
            for start in range(len(word) - size + 1):
                fragments[("▁" if start == 0 else "") + word[start : start + size]] += count
    counts: Counter[str] = Counter({f"▁{word}": count for word, count in words.items()})
    counts.update({piece: count for piece, count in fragments.items() if count >= 5})
    for character, count in characters.items():
        counts[character] += count
        counts[f"▁{character}"] += count
    counts["▁"] += sum(words.values())
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    pieces = [(token, 0.0) for token in SPECIAL_TOKENS]
    return pieces + [(piece, math.log(count / total)) for piece, count in ranked]


def build_reference_model(path: Path) -> Path:
    """Save the XLM-R-base-sized random classifier and its tokenizer in `path` (reused if there)."""
    path = Path(path)
    if _is_reference(path):
        return path
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} exists and does not hold a reference model")
    import torch
    from transformers import (
        XLMRobertaConfig,
        XLMRobertaForSequenceClassification,
        XLMRobertaTokenizer,
    )

    tokenizer = XLMRobertaTokenizer(vocab=reference_vocabulary(demo_texts()))
    config = XLMRobertaConfig(
        **XLM_R_BASE,
        id2label=ID2LABEL,
        label2id={name: index for index, name in ID2LABEL.items()},
    )
    torch.manual_seed(0)
    model: Any = XLMRobertaForSequenceClassification(config)
    model.eval()
    # Build beside the target and rename, so an interrupted build is never reused.
    building = path.with_name(f".{path.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    model.save_pretrained(building)
    tokenizer.save_pretrained(building)
    (building / STAMP).write_text(json.dumps(_STAMP_CONTENT), "utf-8")
    if path.exists():
        path.rmdir()  # empty, checked above
    building.rename(path)
    return path


def _is_reference(path: Path) -> bool:
    try:
        stamp = json.loads((path / STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    # JSON turns the label ids into strings: compare both sides as JSON.
    return bool(stamp == json.loads(json.dumps(_STAMP_CONTENT)))


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) the reference model in the folder given; print its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="where to build or find the model")
    args = parser.parse_args(argv)
    # Read when transformers is imported: no progress bars on the terminal.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    print(build_reference_model(args.folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
