"""A week with 100,000 mentions: the digest is built from SQL aggregates and a sample."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.storage.engine import make_engine, migrate
from tests.helpers import mention, write_config, write_jsonl

MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
TOTAL = 100_000
COMPLAINTS = ["lost my parcel", "parcel never arrived", "courier lost the parcel", "refund late"]


def test_a_week_of_100000_mentions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replay = write_jsonl(tmp_path / "r.jsonl", [mention(0, "ACME", MONDAY)])
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "db.sqlite")
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    engine.dispose()
    rng = random.Random(4)
    rows, links = [], []
    for i in range(1, TOTAL + 1):
        at = MONDAY + timedelta(seconds=rng.randrange(7 * 86400))
        label = rng.choice(("negative", "neutral", "positive", "positive"))
        text = f"ACME {rng.choice(COMPLAINTS)} {i}" if label == "negative" else f"ACME ok {i}"
        stamp = at.strftime("%Y-%m-%d %H:%M:%S.000000")
        rows.append(
            (i, "x", str(i), f"user{i % 5000}", text, stamp, stamp, i % 7, label)
        )  # fmt: skip
        links.append((i, "acme", int(at.timestamp())))
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        db.executemany(
            "INSERT INTO mentions (id, source, external_id, author_handle, text, created_at,"
            " collected_at, likes, reposts, replies, is_repost, is_quote, sentiment_label,"
            " sentiment_score, sentiment_confidence, sentiment_engine)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, 0, 1, 'test')",
            rows,
        )
        db.executemany(
            "INSERT INTO mention_brands (mention_id, brand, created_ts) VALUES (?, ?, ?)", links
        )
    out = tmp_path / "digest.html"
    args = ["digest", "--config", str(config), "--week", "2026-W47", "--preview", str(out)]
    assert main(args) == 0
    assert "ACME — week 47: 100,000 mentions" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert "parcel" in html  # the complaint themes come from a sample of the week
    assert html.count("data:image/png;base64,") == 2
