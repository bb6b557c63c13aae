"""The replay source: time alignment, cursors, malformed lines."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.kernel.records import parse_utc
from sources.base import Query, SourceError
from sources.replay import BUNDLED, ReplaySettings, ReplaySource, load_mentions
from tests.helpers import END, mention, write_jsonl

QUERY = Query("acme", ("ACME",))


def _source(path: Path, **settings: object) -> ReplaySource:
    return ReplaySource(ReplaySettings(path=str(path), **settings))  # type: ignore[arg-type]


def test_align_now_ends_the_file_at_now(tmp_path: Path) -> None:
    items = [mention(i, f"ACME {i}", END - timedelta(hours=10 - i)) for i in range(10)]
    path = write_jsonl(tmp_path / "r.jsonl", items)
    now = parse_utc("2026-12-01T09:30:00Z")
    batch = _source(path).fetch(QUERY, None, now=now)
    assert len(batch.mentions) == 10 and not batch.more
    assert batch.mentions[-1].created_at == now
    assert batch.mentions[0].created_at == now - timedelta(hours=9)


def test_align_none_emits_only_what_is_due(tmp_path: Path) -> None:
    items = [mention(i, f"ACME {i}", END - timedelta(hours=5 - i)) for i in range(6)]
    path = write_jsonl(tmp_path / "r.jsonl", items)
    source = _source(path, align="none")
    first = source.fetch(QUERY, None, now=END - timedelta(hours=3))
    assert [m.text for m in first.mentions] == ["ACME 0", "ACME 1", "ACME 2"]
    second = source.fetch(QUERY, first.cursor, now=END)
    assert [m.text for m in second.mentions] == ["ACME 3", "ACME 4", "ACME 5"]
    assert source.fetch(QUERY, second.cursor, now=END).mentions == []


def test_pages_and_resume_keep_the_same_timestamps(tmp_path: Path) -> None:
    items = [mention(i, f"ACME {i}", END - timedelta(minutes=50 - i)) for i in range(50)]
    path = write_jsonl(tmp_path / "r.jsonl", items)
    now = parse_utc("2026-12-01T00:00:00Z")
    source = _source(path, page_size=20)
    first = source.fetch(QUERY, None, now=now)
    assert len(first.mentions) == 20 and first.more
    # A restart (new source object, later clock) resumes with the stored shift.
    later = _source(path, page_size=20)
    rest = later.fetch(QUERY, first.cursor, now=now + timedelta(hours=1))
    assert rest.mentions[0].external_id == items[20]["external_id"]
    assert rest.mentions[0].created_at == first.mentions[-1].created_at + timedelta(minutes=1)


def test_malformed_lines_are_skipped_with_their_line_number(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "r.jsonl"
    good = json.dumps(mention(1, "ACME ok", END))
    path.write_text(f'{good}\n{{not json\n{{"source": "x"}}\n\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        mentions = load_mentions(path)
    assert [m.text for m in mentions] == ["ACME ok"]
    assert f"{path}:2:" in caplog.text and f"{path}:3:" in caplog.text


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read replay file"):
        _source(tmp_path / "missing.jsonl").fetch(QUERY, None)


def test_bundled_demo_data_is_realistic() -> None:
    mentions = load_mentions(BUNDLED)
    assert len(mentions) >= 3000
    span = mentions[-1].created_at - mentions[0].created_at
    assert span >= timedelta(days=7)
    assert {m.lang for m in mentions} >= {"en", "es"}
    assert sum(m.is_repost for m in mentions) >= 100
    texts = " ".join(m.text.casefold() for m in mentions)
    assert "paquetto" in texts and "nubento" in texts
    assert len({m.key for m in mentions}) == len(mentions)


def test_bundled_data_is_reproducible_from_its_generator(tmp_path: Path) -> None:
    from benchmarks.demo_data import main as generate

    out = tmp_path / "demo.jsonl"
    assert generate(["--out", str(out)]) == 0
    assert out.read_bytes() == BUNDLED.read_bytes()


def test_a_line_that_is_not_utf8_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [json.dumps(mention(i, f"ACME {i}", END - timedelta(minutes=10 - i))) for i in range(5)]
    lines[2] = '{"source": "x", "text": "ACME caf\xe9"}'  # Latin-1, not UTF-8
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(line.encode("latin-1") for line in lines) + b"\n")
    with caplog.at_level(logging.WARNING):
        mentions = load_mentions(path)
    assert [m.text for m in mentions] == ["ACME 0", "ACME 1", "ACME 3", "ACME 4"]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert f"{path}:3: skipped a line that is not UTF-8" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # one line, no traceback


def test_a_gzip_file_with_a_bad_line_and_a_number_too_big_reads_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = [json.dumps(mention(i, f"ACME {i}", END - timedelta(minutes=i))) for i in range(3)]
    bad = [
        b"\xff\xfe not text",
        b'{"source": "x", "external_id": "9", "text": "ACME",'
        b' "created_at": "2026-11-20T10:00:00Z", "likes": 1e400}',
        b'{"source": "x", "external_id": "8", "text": "ACME", "created_at": 5}',
    ]
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"\n".join([*bad, *(line.encode() for line in good)]) + b"\n")
    with caplog.at_level(logging.WARNING):
        mentions = load_mentions(path)
    assert sorted(m.text for m in mentions) == ["ACME 0", "ACME 1", "ACME 2"]
    assert all(f"{path}:{n}: skipped" in caplog.text for n in (1, 2, 3))


def test_a_gzip_file_cut_short_keeps_what_came_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [json.dumps(mention(i, f"ACME {i}", END - timedelta(minutes=i))) for i in range(200)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(whole[: len(whole) - 20])
    with caplog.at_level(logging.WARNING):
        mentions = load_mentions(path)
    assert 0 < len(mentions) < 200
    assert f"{path}: ends early" in caplog.text
