"""Replay → score → store → detect → outbox → Slack, with the real slack-sdk on a fake Slack."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.cli.main import main
from monitor.runtime import build_runtime
from monitor.service.daemon import run_once
from monitor.settings import load_settings
from monitor.storage.schema import AlertRow, MentionRow, MentionTouchpointRow, OutboxRow
from tests.fakes.slack_api import FakeSlack
from tests.helpers import series, write_config, write_jsonl


@pytest.fixture
def acme_config(tmp_path: Path) -> Path:
    replay = write_jsonl(tmp_path / "acme.jsonl", series())
    return write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db")


def _slack_text(message: dict[str, object]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False) + str(message["text"])


def test_spike_reaches_slack_with_counts_and_escaped_example(
    acme_config: Path, slack_env: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--log-level", "DEBUG", "run", "--config", str(acme_config), "--once"]) == 0

    assert len(slack_env.messages) == 1
    message = slack_env.messages[0]
    body = message["body"]
    assert message["channel"] == slack_env.channel_id("#cx-alerts")
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    text = _slack_text(message)
    assert "ACME: negative spike" in text
    found = re.search(r"(\d+) negative mentions in the last (\d+) min", text)
    assert found, text
    with build_runtime(load_settings(acme_config)).sessions() as session:
        alert = session.scalars(select(AlertRow)).one()
    # The count Slack shows is the count stored for the incident's window.
    assert int(found[1]) == alert.details["observed_negative"] >= 25
    # The 15-minute window, or a longer one if collecting took a while on a busy machine.
    assert 10 <= int(found[2]) <= 120
    # The hostile post is an example, but none of its pings survive.
    assert "&lt;!channel&gt; ACME &amp; co LOST my parcel" in text
    assert "<!channel>" not in text and "<@U024BE7LH>" not in text and "<!here>" not in text
    assert "@here" not in text  # a word joiner splits the bare broadcast word
    # It says what the complaints are about: touchpoints, and a theme with its size.
    assert re.search(r"\*Touchpoints:\* delivery \d+", text), text
    assert re.search(r"\*Theme: [^*]*parcel[^*]*\* \(\d+ posts\)", text), text
    # The console shows the same alert.
    out, err = capsys.readouterr()
    assert "ALERT ACME: negative spike" in out
    assert "Touchpoints: delivery" in out
    assert "posted to Slack" in err
    assert slack_env.token not in out + err  # even at DEBUG, the token is never logged


def test_rerunning_the_same_replay_stores_nothing_twice_and_alerts_once(
    acme_config: Path, slack_env: FakeSlack
) -> None:
    settings = load_settings(acme_config)
    for _ in range(2):
        rt = build_runtime(settings)
        run_once(rt)
        rt.close()
    # A fresh replay cursor (a new deployment reading the same file) must not duplicate either.
    rt = build_runtime(settings)
    with rt.sessions.begin() as session:
        session.execute(select(func.count()).select_from(MentionRow))
        from monitor.storage.schema import CursorRow

        session.query(CursorRow).delete()
    run_once(rt)
    with rt.sessions() as session:
        mentions = session.scalar(select(func.count()).select_from(MentionRow))
        alerts = session.scalar(select(func.count()).select_from(AlertRow))
        sent = session.scalar(select(func.count()).select_from(OutboxRow))
    rt.close()
    assert mentions == len(series())
    assert alerts == 1
    assert sent == 2  # one row per notifier: console and slack
    assert len(slack_env.messages) == 1


def test_demo_config_alerts_on_the_bundled_incident_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    config = Path(__file__).parents[1] / "config" / "demo.yaml"
    assert main(["run", "--config", str(config), "--once"]) == 0
    out = capsys.readouterr().out
    assert "ALERT Paquetto: negative spike" in out
    assert "Nubento" not in out
    # Spanish complaints count too (a word list would score them neutral).
    assert re.search(r"Theme: .*\(\d+ posts\)", out)
    with build_runtime(load_settings(config)).sessions() as session:
        spanish = session.scalar(
            select(func.count())
            .select_from(MentionRow)
            .where(MentionRow.lang == "es", MentionRow.sentiment_label == "negative")
        )
        tagged = session.scalar(select(func.count()).select_from(MentionTouchpointRow))
    assert spanish and spanish > 200
    assert tagged and tagged > 1000
