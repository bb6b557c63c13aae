"""`pulso score`: sentiment for one text per line (or JSONL with a `text` field), as JSON lines.

The output contract is stable (external evaluation relies on it): one object per input
line, in order, `{"label", "score", "confidence", "lang", "engine"}`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from models.sentiment import Scorer

BATCH = 256
PROGRESS_MIN = 1000


def read_texts(stream: BinaryIO) -> list[str]:
    """Input lines as texts: invalid UTF-8 replaced, JSONL objects give their `text`."""
    data = stream.read().decode("utf-8", errors="replace")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return [_text_of(line.removesuffix("\r")) for line in lines]


def _text_of(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            value = json.loads(stripped)
        except ValueError:
            return line
        if isinstance(value, dict) and isinstance(value.get("text"), str):
            return str(value["text"])
    return line


def batches(texts: Sequence[str], size: int = BATCH) -> Iterator[Sequence[str]]:
    """Consecutive slices of `texts`."""
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


def score_stream(scorer: Scorer, texts: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Score `texts` in batches, writing one JSON line each; returns how many were written."""
    show = err.isatty() and len(texts) >= PROGRESS_MIN
    done = 0
    for chunk in batches(texts):
        for result in scorer.score(chunk):
            record = {
                "label": result.label,
                "score": result.score,
                "confidence": result.confidence,
                "lang": result.lang,
                "engine": result.engine,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        done += len(chunk)
        out.flush()
        if show:
            _progress(err, done, len(texts))
    if show:
        err.write("\n")
    return done


def _progress(err: TextIO, done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    err.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    err.flush()


def run_score(source: str, scorer: Scorer) -> int:
    """The `pulso score` command body."""
    if source == "-":
        texts = read_texts(sys.stdin.buffer)
    else:
        with Path(source).open("rb") as handle:
            texts = read_texts(handle)
    score_stream(scorer, texts, sys.stdout, sys.stderr)
    return 0
