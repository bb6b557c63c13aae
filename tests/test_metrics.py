"""Metrics without the HTTP server: the scorer wrapper, events, errors, the database gauges."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest

from models.sentiment import Sentiment
from monitor import pipeline
from monitor.kernel.records import utcnow
from monitor.runtime import build_runtime
from monitor.service.metrics import DatabaseCollector
from monitor.settings import load_settings
from monitor.storage.mentions import save_cursor
from monitor.telemetry import REGISTRY, TimedScorer, record_detection
from sources.base import SourceError
from tests.helpers import write_config, write_jsonl


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class TwoEngines:
    """A scorer whose results come from two engines (as `auto` mixes them)."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        self.calls.append(len(texts))
        return [
            Sentiment("neutral", 0.0, 1.0, None, "fake-a" if i % 3 else "fake-b")
            for i in range(len(texts))
        ]


def test_timed_scorer_counts_batches_and_engines() -> None:
    inner = TwoEngines()
    scorer = TimedScorer(inner)
    batches, size = _value("pulso_scoring_seconds_count"), _value("pulso_scoring_batch_size_sum")
    a, b = (
        _value("pulso_mentions_scored_total", engine="fake-a"),
        _value("pulso_mentions_scored_total", engine="fake-b"),
    )
    assert scorer.name == "fake"
    assert len(scorer.score(["x"] * 6)) == 6
    assert scorer.score([]) == []  # passed on, not measured
    assert inner.calls == [6, 0]
    assert _value("pulso_scoring_seconds_count") == batches + 1
    assert _value("pulso_scoring_batch_size_sum") == size + 6
    assert _value("pulso_mentions_scored_total", engine="fake-a") == a + 4
    assert _value("pulso_mentions_scored_total", engine="fake-b") == b + 2


def test_detection_counts_opened_and_resolved() -> None:
    def event(kind: str) -> SimpleNamespace:
        return SimpleNamespace(kind=kind, brand="m1", rule="volume_spike", severity="critical")

    fired = _value("pulso_alerts_fired_total", brand="m1", rule="volume_spike", severity="critical")
    resolved = _value("pulso_alerts_resolved_total", brand="m1", rule="volume_spike")
    ticks = _value("pulso_detector_ticks_total", brand="m1")
    record_detection("m1", [event("opened"), event("escalated"), event("resolved")])
    record_detection("m1", [])
    assert _value("pulso_detector_ticks_total", brand="m1") == ticks + 2
    assert (
        _value("pulso_alerts_fired_total", brand="m1", rule="volume_spike", severity="critical")
        == fired + 1
    )
    assert _value("pulso_alerts_resolved_total", brand="m1", rule="volume_spike") == resolved + 1


def test_a_failed_collection_is_counted(tmp_path: Path) -> None:
    config = write_config(tmp_path / "p.yaml", tmp_path / "gone.jsonl", tmp_path / "p.db")
    rt = build_runtime(load_settings(config))
    labels = {"brand": "acme", "source": "replay", "kind": "error"}
    before = _value("pulso_source_errors_total", **labels)
    try:
        with pytest.raises(SourceError):
            pipeline.collect(rt, "acme", "replay")
        gauges = {s.name: s for f in DatabaseCollector(rt).collect() for s in f.samples}
    finally:
        rt.close()
    assert _value("pulso_source_errors_total", **labels) == before + 1
    assert gauges["pulso_source_up"].value == 0


def test_x_budget_comes_from_the_cursor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSO_X_BEARER_TOKEN", "test-token")
    replay = write_jsonl(tmp_path / "a.jsonl", [])
    brands = [
        {
            "id": "acme",
            "name": "ACME",
            "keywords": ["ACME"],
            "sources": {"x": {"monthly_read_budget": 1000}, "replay": {"path": str(replay)}},
        }
    ]
    config = write_config(tmp_path / "p.yaml", replay, tmp_path / "p.db", brands=brands)
    rt = build_runtime(load_settings(config))
    try:
        collector = DatabaseCollector(rt)
        fresh = {s.name: s.value for f in collector.collect() for s in f.samples}
        with rt.sessions.begin() as session:
            month = utcnow().strftime("%Y-%m")
            save_cursor(session, "acme", "x", json.dumps({"month": month, "reads": 250}))
        spent = {s.name: s for f in collector.collect() for s in f.samples}
    finally:
        rt.close()
    assert fresh["pulso_x_read_budget_remaining"] == 1000
    sample = spent["pulso_x_read_budget_remaining"]
    assert (sample.labels, sample.value) == ({"brand": "acme"}, 750)
