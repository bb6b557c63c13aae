"""`pulso score`: the stable JSON-lines contract that external evaluation relies on."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.sentiment import Sentiment
from monitor.cli.score import read_texts, score_stream

ROOT = Path(__file__).parents[1]


class Echo:
    """A scorer that reports each text's length as its score (to check order)."""

    name = "echo"

    def score(self, texts: list[str]) -> list[Sentiment]:
        return [
            Sentiment("neutral", len(t) / 1000, 1.0, "en" if t.strip() else None, self.name)
            for t in texts
        ]


def test_lines_jsonl_and_invalid_utf8() -> None:
    raw = b'hello\n{"text": "from json", "id": 7}\n\n  \nbad \xff byte\r\n{not json}\nlast'
    assert read_texts(io.BytesIO(raw)) == [
        "hello",
        "from json",
        "",
        "  ",
        "bad \ufffd byte",
        "{not json}",
        "last",
    ]
    assert read_texts(io.BytesIO(b"a\nb\n")) == ["a", "b"]
    assert read_texts(io.BytesIO(b"")) == []


def test_unicode_line_separators_do_not_split_a_line() -> None:
    assert read_texts(io.BytesIO("one\u2028still one\x85too\nnext".encode())) == [
        "one\u2028still one\x85too",
        "next",
    ]


def test_one_object_per_line_in_order() -> None:
    texts = [f"text {'x' * i}" for i in range(600)]
    out, err = io.StringIO(), io.StringIO()
    assert score_stream(Echo(), texts, out, err) == 600
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [round(r["score"] * 1000) for r in rows] == [len(t) for t in texts]
    assert set(rows[0]) == {"label", "score", "confidence", "lang", "engine"}
    assert err.getvalue() == ""  # no progress bar when stderr is not a terminal


def test_real_command_with_the_default_engine(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(
        b"I hate this company, worst service ever\n\nMe encanta, gracias!!\n" + b"\xfe\xff broken\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli.main", "score", str(source)],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(rows) == 4
    assert rows[0]["label"] == "negative" and rows[0]["lang"] == "en"
    assert rows[1] == {
        "label": "neutral",
        "score": 0.0,
        "confidence": 1.0,
        "lang": None,
        "engine": "auto",
    }
    assert rows[2]["label"] == "positive" and rows[2]["lang"] == "es"
    assert rows[3]["label"] in ("negative", "neutral", "positive")


@pytest.mark.parametrize("engine", ["vader", "embedded"])
def test_stdin_and_engine_choice(engine: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli.main", "score", "-", "--engine", engine],
        cwd=ROOT,
        input=b"great product\n",
        capture_output=True,
        timeout=120,
        check=True,
    )
    (row,) = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert row["label"] == "positive"
    assert row["engine"].startswith(engine)
