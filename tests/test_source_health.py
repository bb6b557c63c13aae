"""Source health: failures are recorded, rate limits are honoured, `pulso sources` shows it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from monitor import pipeline
from monitor.cli.main import main
from monitor.kernel.records import Batch, Mention
from monitor.runtime import build_runtime
from monitor.service.daemon import run_once
from monitor.settings import load_settings
from sources.base import Query, RateLimited, Source, SourceError, SourceSettings
from tests.helpers import END, mention, write_config, write_jsonl


class Scripted(Source[SourceSettings]):
    """A source that answers what the test scripts: an error, or one mention."""

    name: ClassVar[str] = "replay"
    Settings: ClassVar[type[SourceSettings]] = SourceSettings

    def __init__(self) -> None:
        super().__init__(SourceSettings())
        self.answers: list[Exception | None] = []
        self.calls = 0

    def fetch(self, query: Query, cursor: str | None) -> Batch:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        m = Mention(source="x", external_id=str(self.calls), text="ACME rocks", created_at=END)
        return Batch([m], cursor=str(self.calls))


@pytest.fixture
def setup(tmp_path: Path) -> Any:
    replay = write_jsonl(tmp_path / "r.jsonl", [mention(0, "ACME", END)])
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "db.sqlite")
    now = [END]
    rt = build_runtime(load_settings(config), clock=lambda: now[0])
    source = Scripted()
    rt.sources[("acme", "replay")] = source
    yield config, rt, source, now
    rt.close()


def test_failures_are_counted_and_a_success_resets_them(
    setup: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config, rt, source, _ = setup
    source.answers = [SourceError("replay: server error (HTTP 502)"), None]
    with pytest.raises(SourceError):
        pipeline.collect(rt, "acme", "replay")
    assert main(["sources", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "acme   replay  failing" in out and "HTTP 502" in out and "never" in out
    pipeline.collect(rt, "acme", "replay")
    assert main(["sources", "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["BRAND", "SOURCE", "STATE"]
    fields = out[1].split()
    assert fields[:3] == ["acme", "replay", "ok"]
    assert fields[-2:] == ["0", "0"]  # no failures; no mention from the last real hour


def test_a_rate_limit_is_waited_out_without_calling_the_platform(setup: Any) -> None:
    _, rt, source, now = setup
    source.answers = [RateLimited("replay: rate limited (HTTP 429)", retry_after=120)]
    with pytest.raises(RateLimited):
        pipeline.collect(rt, "acme", "replay")
    assert source.calls == 1
    now[0] = END + timedelta(seconds=60)
    assert pipeline.collect(rt, "acme", "replay").pages == 0  # still waiting
    assert source.calls == 1
    now[0] = END + timedelta(seconds=121)
    assert pipeline.collect(rt, "acme", "replay").stored == 1
    assert source.calls == 2


def test_a_failing_source_is_one_warning_and_the_cycle_goes_on(
    setup: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, rt, source, _ = setup
    source.answers = [SourceError("replay: refused (HTTP 401)")]
    with caplog.at_level(logging.WARNING):
        assert run_once(rt, delivery_wait=0) == 1
    warnings = [r for r in caplog.records if "HTTP 401" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None


def test_the_x_read_budget_shows_in_the_sources_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.storage.mentions import save_cursor
    from sources.x import XSettings, XSource

    monkeypatch.setenv("PULSO_X_BEARER_TOKEN", "test-token")
    replay = write_jsonl(tmp_path / "r.jsonl", [mention(0, "ACME", END)])
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "db.sqlite")
    data = yaml.safe_load(config.read_text())
    data["brands"][0]["sources"]["x"] = {"monthly_read_budget": 5000}
    config.write_text(yaml.safe_dump(data))
    rt = build_runtime(load_settings(config))
    month = datetime.now(UTC).strftime("%Y-%m")
    source = XSource(XSettings(monthly_read_budget=5000))
    cursor = source.budget_status()  # an empty month
    assert cursor["reads"] == 0
    with rt.sessions.begin() as session:
        save_cursor(session, "acme", "x", json.dumps({"month": month, "reads": 1200}))
    rt.close()
    assert main(["sources", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"X reads 1,200 of 5,000 in {month} (3,800 left)" in out
