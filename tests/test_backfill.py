"""`pulso backfill`: a source's first sweep stretched back to a date, run to its end."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor.cli.main import main
from tests.fakes.hn_api import FakeHN, story
from tests.helpers import TOUCHPOINTS

NOW = int(time.time())


def config(tmp_path: Path, fake: FakeHN, source: dict[str, object]) -> Path:
    path = tmp_path / "pulso.yaml"
    data = {
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "brands": [
            {
                "id": "acme",
                "name": "ACME",
                "keywords": ["acme"],
                "sources": {"hackernews": {"api_url": fake.base_url, **source}},
            }
        ],
        "sentiment": {"engine": "vader"},
        "notifiers": {"console": {}},
        "touchpoints": str(TOUCHPOINTS),
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def stored(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        return sorted(row[0] for row in db.execute("SELECT external_id FROM mentions"))


def test_backfill_reaches_back_and_a_second_run_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeHN() as fake:
        # Ten days of posts, two a day; the normal first sweep looks back 24 hours only.
        fake.add(*(story(i, NOW - i * 43_200 - 60, f"acme news {i}") for i in range(20)))
        path = config(tmp_path, fake, {"hits_per_page": 3, "max_pages": 2})
        assert main(["run", "--config", str(path), "--once"]) == 0
        assert len(stored(tmp_path)) == 2
        since = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%d")
        args = ["backfill", "--config", str(path), "--source", "hackernews", "--since", since]
        assert main(args) == 0
        err = capsys.readouterr().err
        assert "backfilled acme/hackernews since" in err
        assert "acme: 0 historical incidents since" in err  # two posts a day: no burst
        expected = {str(i) for i in range(20) if NOW - i * 43_200 - 60 >= NOW - 8 * 86_400}
        assert set(stored(tmp_path)) >= {str(i) for i in range(14)}
        assert set(stored(tmp_path)) <= expected
        assert main([*args, "--no-history"]) == 0  # again: everything is there already
        err = capsys.readouterr().err
        assert "0 new mentions" in err and "historical" not in err
        assert len(stored(tmp_path)) == len(set(stored(tmp_path)))


def test_backfill_says_what_cannot_be_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeHN() as fake:
        path = config(tmp_path, fake, {})
        base = ["backfill", "--config", str(path), "--source"]
        assert main([*base, "rss", "--since", "2026-11-01"]) == 2
        assert "no brand enables the source 'rss'" in capsys.readouterr().err
        assert main([*base, "hackernews", "--since", "2020-01-01"]) == 2
        assert "searches back 720 hours at most" in capsys.readouterr().err
        assert main([*base, "hackernews", "--since", "last week"]) == 2
        assert "is not a date" in capsys.readouterr().err


def test_backfill_finds_the_past_burst_as_one_historical_incident(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quarter = NOW // 900 * 900
    with FakeHN() as fake:
        # Three days of a post every quarter hour, and a burst of complaints a day ago.
        fake.add(*(story(i, quarter - i * 900 - 60, f"acme news {i}") for i in range(288)))
        burst = quarter - 86_400
        fake.add(
            *(
                story(1000 + k, burst + k * 20, f"acme lost my parcel again, awful service {k}")
                for k in range(40)
            )
        )
        path = config(tmp_path, fake, {"hits_per_page": 100, "max_pages": 10})
        since = datetime.fromtimestamp(quarter - 3 * 86_400, UTC).strftime("%Y-%m-%d %H:%M")
        args = ["backfill", "--config", str(path), "--source", "hackernews", "--since", since]
        assert main(args) == 0
        assert "acme: 1 historical incident since" in capsys.readouterr().err
        assert main(args) == 0  # again: the same one, not a second
        assert "acme: 1 historical incident since" in capsys.readouterr().err
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        alerts = db.execute("SELECT rule, historical, started_at FROM alerts").fetchall()
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    assert len(alerts) == 1 and alerts[0][:2] == ("negative_spike", 1)
    started = datetime.fromisoformat(alerts[0][2]).replace(tzinfo=UTC)
    # It starts with its firing 15-minute window, which holds the burst's start.
    at = datetime.fromtimestamp(burst, UTC)
    assert at - timedelta(minutes=10) <= started <= at
