"""`auto`: language-aware routing — the fast head where it is as good, a stronger model elsewhere.

Every text first goes through the embedded engine's n-gram head (thousands per second).
Where that head is confident enough for the text's language — the per-language
thresholds were chosen on training data so that accepting its answer costs no accuracy
— its answer stands; the rest go to the strong model: the embedded e5 blend, or a
local transformer when one is configured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.embedded import EmbeddedEngine, fast_logits, softmax, with_offsets
from models.sentiment import Engine, Sentiment, from_probabilities


class AutoEngine:
    """Cascade: confident fast answers stand, the others go to `strong`."""

    name = "auto"

    def __init__(self, embedded: EmbeddedEngine, strong: Engine | None = None) -> None:
        self.embedded = embedded
        self.strong: Engine = strong or embedded
        self.thresholds = embedded.heads.cascade

    def threshold(self, lang: str | None) -> float:
        """Confidence the fast head needs for `lang` (above 1 means never trusted)."""
        return self.thresholds.get(lang or "", self.thresholds.get("*", 2.0))

    def predict(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[Sentiment]:
        """Score each text with the cheapest engine that is as good for it."""
        heads = self.embedded.heads
        log_probs = np.log(softmax(fast_logits(heads, texts)))
        probs = softmax(with_offsets(log_probs, langs, heads.fast_lang_bias))
        results: list[Sentiment | None] = [None] * len(texts)
        hard: list[int] = []
        for row, (p, lang) in enumerate(zip(probs, langs, strict=True)):
            if float(p.max()) >= self.threshold(lang):
                results[row] = from_probabilities(p.tolist(), lang, "fast")
            else:
                hard.append(row)
        if hard:
            strong = self.strong.predict([texts[i] for i in hard], [langs[i] for i in hard])
            for row, result in zip(hard, strong, strict=True):
                results[row] = result
        return [r for r in results if r is not None]
