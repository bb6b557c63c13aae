"""`pulso backtest` and the claim behind it: the backtest is the live detector, replayed."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.sentiment import Sentiment
from monitor.cli.main import main
from monitor.detection.backtest import (
    BacktestInputError,
    Row,
    backtest_series,
    interval_seconds,
    read_counts,
    to_series,
)
from monitor.detection.lifecycle import detect_brand
from monitor.detection.rules import build_rules
from monitor.kernel.records import Mention
from monitor.runtime import build_runtime
from monitor.settings import DetectorSettings, Silence, load_settings
from monitor.storage.mentions import store_mentions
from tests.helpers import write_config, write_jsonl

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
BURST_DAY = 8


def counts(days: int = 10, seed: int = 3, burst: bool = True) -> list[Row]:
    """5-minute counts with a daily rhythm; on day 8 at 14:00, negatives triple for 2 h."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for i in range(days * 288):
        at = START + timedelta(minutes=5 * i)
        hour = at.hour + at.minute / 60
        rate = 2 + 8 * max(0.0, 1 - abs(hour - 14) / 8)
        total = sum(rng.random() < rate / 20 for _ in range(20))
        negative = sum(rng.random() < 0.2 for _ in range(total))
        in_burst = at.date() == (START + timedelta(days=BURST_DAY)).date() and 14 <= hour < 16
        if burst and in_burst:
            extra = 2 + rng.randrange(3)
            total, negative = total + extra, negative + extra
        rows.append((at, total, negative))
    return rows


BURST_START = START + timedelta(days=BURST_DAY, hours=14)


def test_the_injected_burst_is_the_only_alert() -> None:
    alerts = backtest_series(counts(), "negative", DetectorSettings())
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.rule == "negative_spike"
    # Negatives about doubled on a small brand with eight days of history: the calibrated
    # rule hears it by its accumulated evidence within the burst's first 45 minutes.
    assert BURST_START <= alert.fired_at <= BURST_START + timedelta(minutes=45)
    assert alert.resolved_at is not None
    assert BURST_START + timedelta(hours=2) <= alert.resolved_at <= BURST_START + timedelta(hours=4)
    assert alert.observed > alert.baseline


def test_without_the_burst_nothing_fires() -> None:
    assert backtest_series(counts(burst=False), "negative", DetectorSettings()) == []


def test_a_silence_holds_the_incident_back() -> None:
    silence = Silence(until=BURST_START + timedelta(hours=6), reason="planned")
    assert backtest_series(counts(), "negative", DetectorSettings(), [silence]) == []
    volume_only = Silence(until=BURST_START + timedelta(hours=6), rules=("volume_spike",))
    assert len(backtest_series(counts(), "negative", DetectorSettings(), [volume_only])) == 1


def test_pending_minutes_delay_the_alert() -> None:
    now = backtest_series(counts(), "negative", DetectorSettings())[0]
    later = backtest_series(counts(), "negative", DetectorSettings(pending_minutes=10))
    assert later and later[0].fired_at == now.fired_at + timedelta(minutes=10)


def test_live_daemon_and_backtest_agree(tmp_path: Path) -> None:
    """The same counts, stored as mentions and judged tick by tick, open the same incident."""
    rows = counts()
    config = write_config(tmp_path / "pulso.yaml", tmp_path / "none.jsonl", tmp_path / "db.sqlite")
    settings = load_settings(config)
    brand = settings.brands[0]
    rt = build_runtime(settings)
    mentions, sentiments = [], {}
    for at, total, negative in rows:
        for k in range(total):
            m = Mention(
                source="x",
                external_id=f"{int(at.timestamp())}-{k}",
                text="ACME",
                created_at=at + timedelta(seconds=10 * k),
            )
            label = "negative" if k < (negative or 0) else "neutral"
            mentions.append(m)
            sentiments[m.key] = Sentiment(
                label, -0.5 if label == "negative" else 0.0, 0.9, "en", "t"
            )
    with rt.sessions.begin() as session:
        store_mentions(session, brand.id, mentions, sentiments)
    changes: dict[str, list[tuple[str, datetime]]] = {"opened": [], "resolved": []}
    rules = build_rules(brand.detector)
    now = BURST_START - timedelta(hours=1)
    while now <= BURST_START + timedelta(hours=5):
        with rt.sessions.begin() as session:
            for event in detect_brand(session, brand, rules, ["console"], now):
                changes.setdefault(event.kind, []).append((event.rule, now))
        now += timedelta(minutes=5)
    rt.close()
    expected = backtest_series(rows, "negative", brand.detector)
    assert changes["opened"] == [(a.rule, a.fired_at) for a in expected]
    assert changes["resolved"] == [(a.rule, a.resolved_at) for a in expected]
    escalated = [(a.rule, a.escalated_at) for a in expected if a.escalated_at]
    assert changes.get("escalated", []) == escalated


def _write_counts(path: Path, rows: list[Row], header: str = "timestamp,total,negative") -> Path:
    lines = [header]
    lines += [f"{at:%Y-%m-%d %H:%M:%S},{t},{n}" for at, t, n in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_writes_json_lines_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_counts(tmp_path / "counts.csv", counts())
    assert main(["backtest", "--counts", str(path), "--metric", "negative"]) == 0
    out, err = capsys.readouterr()
    alerts = [json.loads(line) for line in out.splitlines()]
    assert len(alerts) == 1
    assert {"rule", "fired_at", "resolved_at", "severity", "observed", "baseline"} <= set(alerts[0])
    assert alerts[0]["fired_at"].startswith(f"{BURST_START:%Y-%m-%d}T14:")
    assert "1 alert over 1.4 weeks" in err
    out_file = tmp_path / "alerts.jsonl"
    assert (
        main(["backtest", "--counts", str(path), "--metric", "negative", "--out", str(out_file)])
        == 0
    )
    assert [json.loads(x) for x in out_file.read_text().splitlines()] == alerts


def test_cli_runs_both_rules_by_default_as_the_daemon_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The negative burst of day 8 (more mentions too), and on day 9 a news hour: ten
    # times the mentions at the usual share, which only volume_spike should report.
    rows = []
    for at, total, negative in counts():
        if at.date() == (START + timedelta(days=9)).date() and at.hour == 11:
            total, negative = total * 10 + 20, (negative or 0) * 10 + 4
        rows.append((at, total, negative))
    path = _write_counts(tmp_path / "counts.csv", rows)
    assert main(["backtest", "--counts", str(path)]) == 0
    out, err = capsys.readouterr()
    alerts = [json.loads(line) for line in out.splitlines()]
    negative = [a for a in alerts if a["rule"] == "negative_spike"]
    # (The cold start's absolute rule may take the first morning's rise for a spike.)
    warm = f"{START + timedelta(days=2):%Y-%m-%d}"
    volume = [a for a in alerts if a["rule"] == "volume_spike" and a["fired_at"] >= warm]
    assert [a["fired_at"][:13] for a in negative] == [f"{BURST_START:%Y-%m-%d}T14"]
    assert [a["fired_at"][:13] for a in volume] == [f"{START + timedelta(days=9):%Y-%m-%d}T11"]
    assert [a["fired_at"] for a in alerts] == sorted(a["fired_at"] for a in alerts)
    assert "pulso backtest (negative): 1 alert" in err
    assert "pulso backtest (volume): " in err
    assert "(negative_spike) thresholds at the end" in err
    assert "(volume_spike) thresholds at the end" in err
    # Alone, the volume rule also fires on the burst's extra mentions; beside the negative
    # incident it is held, as the daemon holds it.
    assert main(["backtest", "--counts", str(path), "--metric", "volume"]) == 0
    alone = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    incident = negative[0]
    held = [a for a in alone if incident["fired_at"] <= a["fired_at"] < incident["resolved_at"]]
    assert held
    assert not [a for a in alerts if a in held]


def test_cli_reads_value_columns_and_coarser_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Hourly volume in the NAB layout (timestamp,value), with one big hour on the last day.
    rows = [
        (START + timedelta(hours=h), 50 + (h % 24) * 3 + (400 if h == 24 * 9 + 12 else 0), None)
        for h in range(24 * 10)
    ]
    path = tmp_path / "hourly.csv"
    path.write_text(
        "timestamp,value\n" + "".join(f"{at.isoformat()},{t}\n" for at, t, _ in rows),
        encoding="utf-8",
    )
    assert interval_seconds(read_counts(path)) == 3600
    assert main(["backtest", "--counts", str(path)]) == 0
    out, err = capsys.readouterr()
    alerts = [json.loads(line) for line in out.splitlines()]
    assert [a["rule"] for a in alerts] == ["volume_spike"]
    assert alerts[0]["fired_at"] == (START + timedelta(days=9, hours=13)).isoformat().replace(
        "+00:00", "Z"
    )
    assert "(volume)" in err


def test_minute_data_is_rebucketed() -> None:
    rows: list[Row] = [(START + timedelta(minutes=m), 1, 0) for m in range(60)]
    series = to_series(rows, 300, "negative")
    assert series.total.tolist() == [5] * 12


def test_bad_input_names_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,total\n2026-03-02T00:00:00Z,3\n2026-03-02T00:05:00Z,lots\n")
    assert main(["backtest", "--counts", str(path)]) == 2
    assert f"{path}: line 3:" in capsys.readouterr().err
    path.write_text("when,how_many\n2026-03-02T00:00:00Z,3\n")
    with pytest.raises(BacktestInputError, match="no timestamp column"):
        read_counts(path)
    assert main(["backtest", "--counts", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    volume_only = _write_counts(tmp_path / "v.csv", [(START, 3, 0)], header="timestamp,total,x")
    assert main(["backtest", "--counts", str(volume_only), "--metric", "negative"]) == 2
    assert "needs a negative column" in capsys.readouterr().err


def test_cli_from_mentions_scores_what_has_no_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = []
    for at, total, negative in counts():
        for k in range(total):
            label = "negative" if k < (negative or 0) else "neutral"
            item = {"created_at": at.isoformat(), "text": "fine", "label": label}
            if label == "negative" and at >= BURST_START and k == 0:
                # Unlabelled: the engine has to find out that this one is negative.
                item = {"created_at": at.isoformat(), "text": "This is terrible, I hate it"}
            items.append(item)
    path = write_jsonl(tmp_path / "mentions.jsonl", items)
    assert (
        main(["backtest", "--mentions", str(path), "--engine", "vader", "--metric", "negative"])
        == 0
    )
    out, _ = capsys.readouterr()
    alerts = [json.loads(line) for line in out.splitlines()]
    assert [a["rule"] for a in alerts] == ["negative_spike"]


def test_brand_settings_and_silences_come_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_counts(tmp_path / "counts.csv", counts())
    silence = {"until": (BURST_START + timedelta(days=1)).isoformat(), "reason": "campaign"}
    config = write_config(tmp_path / "pulso.yaml", tmp_path / "r.jsonl", tmp_path / "db.sqlite")
    data = config.read_text().replace(
        "  name: ACME\n", f"  name: ACME\n  silences: [{json.dumps(silence)}]\n"
    )
    config.write_text(data)
    assert (
        main(["backtest", "--counts", str(path), "--config", str(config), "--brand", "acme"]) == 0
    )
    assert capsys.readouterr().out == ""
    assert (
        main(["backtest", "--counts", str(path), "--config", str(config), "--brand", "nope"]) == 2
    )
    assert "no brand 'nope'" in capsys.readouterr().err
