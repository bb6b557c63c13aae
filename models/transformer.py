"""Transformer sentiment: a local Hugging Face sequence classifier (XLM-R by default).

torch and transformers are imported on first use, never at import, and the model is
never downloaded unless `allow_download` says so.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.lazy import Lazy
from models.sentiment import Label, Sentiment, from_probabilities

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "cardiffnlp/twitter-xlm-roberta-base-sentiment"

LABEL_NAMES: Mapping[str, Label] = {
    "negative": "negative",
    "neg": "negative",
    "negativo": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "neutro": "neutral",
    "positive": "positive",
    "pos": "positive",
    "positivo": "positive",
}

_HOW_TO_GET_IT = (
    "To run offline, bake the model into the image at build time "
    "(e.g. `RUN hf download {model}` with HF_HOME inside the image, the model id as a "
    "build arg), or download it on a connected machine (`hf download {model} --local-dir "
    "DIR`) and point `sentiment.model` at that folder."
)

_SENTENCEPIECE_HINT = (
    "Its tokenizer is only a sentencepiece file, which transformers 5 reads with the "
    "sentencepiece and protobuf packages; install them, or save a tokenizer.json into the "
    "folder once (AutoTokenizer.from_pretrained(folder).save_pretrained(folder)) on a "
    "machine that has them."
)

# (negative, neutral, positive) output columns; a two-class model has no neutral one.
Columns = tuple[int, int | None, int]


class ModelNotAvailable(Exception):
    """The sentiment model is not on this machine (and downloading it is not allowed)."""


class UnsupportedLabels(ValueError):
    """The model's labels cannot be read as negative, neutral and positive."""


def label_columns(id2label: Mapping[int, str]) -> Columns:
    """The output columns meaning negative, neutral (None if absent) and positive."""
    found = {int(index): str(name) for index, name in id2label.items()}
    columns: dict[Label, int] = {}
    for index, name in sorted(found.items()):
        label = LABEL_NAMES.get(name.strip().lower())
        if label is None or label in columns:
            raise _unsupported(found)
        columns[label] = index
    if "negative" not in columns or "positive" not in columns:
        raise _unsupported(found)
    return columns["negative"], columns.get("neutral"), columns["positive"]


def _unsupported(found: Mapping[int, str]) -> UnsupportedLabels:
    return UnsupportedLabels(
        f"labels {[found[i] for i in sorted(found)]} cannot be read as "
        f"negative/neutral/positive: each must be one of {sorted(LABEL_NAMES)} (any case), "
        "at most once, with negative and positive present"
    )


@dataclass(frozen=True, slots=True)
class _Loaded:
    torch: Any
    tokenizer: Any
    model: Any
    columns: Columns
    pad_id: int


class TransformerEngine:
    """A sequence classifier run on CPU in length-sorted batches; labels read from its config.

    `threads` sets torch's thread count, which is process-wide. `allow_download` lets
    transformers fetch a hub model that is not cached; otherwise nothing is downloaded.

    ```yaml
    sentiment:
      engine: transformer
      model: /models/twitter-xlm-roberta-base-sentiment  # a local folder or a cached hub id
    ```
    """

    name = "transformer"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 32,
        max_length: int = 128,
        threads: int | None = None,
        allow_download: bool = False,
    ) -> None:
        if batch_size < 1 or max_length < 2 or (threads is not None and threads < 1):
            raise ValueError(
                f"batch_size >= 1, max_length >= 2 and threads >= 1 expected; got "
                f"{batch_size}, {max_length}, {threads}"
            )
        self.model = model
        self.batch_size = batch_size
        self.max_length = max_length
        self.threads = threads
        self.allow_download = allow_download
        self._loaded: Lazy[_Loaded] = Lazy(self._load)
        # The Rust tokenizer's truncation settings are shared state: one caller at a time.
        self._tokenize_lock = threading.Lock()

    def load(self) -> None:
        """Load the model now rather than on the first `predict` (to fail at start)."""
        self._loaded.get()

    def predict(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[Sentiment]:
        """Score `texts` in order; each result carries the language given for its text."""
        if len(texts) != len(langs):
            raise ValueError(f"{len(texts)} texts but {len(langs)} languages")
        if not texts:
            return []
        probabilities = self._probabilities(self._loaded.get(), texts)
        return [
            from_probabilities(probs, lang, self.name)
            for probs, lang in zip(probabilities, langs, strict=True)
        ]

    def _load(self) -> _Loaded:
        started = time.perf_counter()
        # Find the model before the slow torch and transformers imports: fail fast.
        source = self._source(_require("huggingface_hub"))
        torch = _require("torch")
        transformers = _require("transformers")
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        local_only = not self.allow_download
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                source, local_files_only=local_only
            )
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                source, local_files_only=local_only
            )
        except (OSError, ValueError, ImportError) as exc:
            raise ModelNotAvailable(self._load_failure(source, exc)) from exc
        model.eval()
        try:
            columns = label_columns(model.config.id2label)
        except UnsupportedLabels as exc:
            raise UnsupportedLabels(f"sentiment model {self.model!r}: {exc}") from None
        pad_id = tokenizer.pad_token_id
        if pad_id is None:
            pad_id = model.config.pad_token_id or 0
        logger.info(
            "sentiment model %s loaded in %.1f s (labels %s, %d torch threads)",
            self.model,
            time.perf_counter() - started,
            [str(name) for _, name in sorted(model.config.id2label.items())],
            torch.get_num_threads(),
        )
        return _Loaded(torch, tokenizer, model, columns, int(pad_id))

    def _source(self, hub: Any) -> str:
        """A local folder holding the model, or the hub id itself when downloads are allowed."""
        folder = Path(self.model).expanduser()
        if folder.is_dir():
            return str(folder)
        if self.allow_download:
            return self.model
        # Resolve a hub id in the local cache ourselves: huggingface_hub may contact the
        # Hub (user-agent lookups) even with local_files_only=True unless HF_HUB_OFFLINE=1.
        try:
            config = hub.try_to_load_from_cache(self.model, "config.json")
        except ValueError:  # not a valid hub id either, e.g. a folder that does not exist
            config = None
        if isinstance(config, str):
            return str(Path(config).parent)
        if self.model.startswith(("/", ".", "~")) or self.model.count("/") > 1:
            raise ModelNotAvailable(
                f"sentiment model folder {self.model!r} does not exist. Put the model files "
                f"there (e.g. `hf download {DEFAULT_MODEL} --local-dir {self.model}` on a "
                "connected machine) or point `sentiment.model` at the right folder."
            )
        raise ModelNotAvailable(
            f"sentiment model {self.model!r} is neither a local folder nor in the Hugging "
            "Face cache, and downloads are off. " + _HOW_TO_GET_IT.format(model=self.model)
        )

    def _load_failure(self, source: str, exc: BaseException) -> str:
        message = f"sentiment model {self.model!r} could not be loaded from {source}: "
        message += str(exc).strip().rstrip(".") + "."
        folder = Path(source)
        if not folder.is_dir():
            return f"{message} {_HOW_TO_GET_IT.format(model=self.model)}"
        if not (folder / "tokenizer.json").exists() and any(folder.glob("*.model")):
            return f"{message} {_SENTENCEPIECE_HINT}"
        return f"{message} Is the folder complete (config, weights and tokenizer files)?"

    def _probabilities(
        self, loaded: _Loaded, texts: Sequence[str]
    ) -> list[tuple[float, float, float]]:
        """(negative, neutral, positive) per text, in order; batches are length-sorted."""
        with self._tokenize_lock:
            encoded: list[list[int]] = loaded.tokenizer(
                list(texts),
                truncation=True,
                max_length=self.max_length,
                return_attention_mask=False,
            )["input_ids"]
        # Similar lengths share a batch, so little compute goes to padding.
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        results: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * len(texts)
        torch = loaded.torch
        negative, neutral, positive = loaded.columns
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                width = max(len(encoded[i]) for i in batch)
                ids = [encoded[i] + [loaded.pad_id] * (width - len(encoded[i])) for i in batch]
                mask = [[1] * len(encoded[i]) + [0] * (width - len(encoded[i])) for i in batch]
                logits = loaded.model(
                    input_ids=torch.tensor(ids, dtype=torch.long),
                    attention_mask=torch.tensor(mask, dtype=torch.long),
                ).logits
                rows: list[list[float]] = torch.softmax(logits.float(), dim=-1).tolist()
                for i, row in zip(batch, rows, strict=True):
                    results[i] = (
                        row[negative],
                        row[neutral] if neutral is not None else 0.0,
                        row[positive],
                    )
        return results


def _require(module: str) -> Any:
    """Import one of the engine's optional dependencies, with the install hint if missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"the transformer sentiment engine needs {module} ({exc}); "
            "install it with: pip install 'pulso[transformer]'"
        ) from exc
