"""The weekly digest reaches marketing's inbox once per brand and week, after its time."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from models.sentiment import Sentiment
from monitor.cli.main import main
from monitor.digest.send import send_due_digests
from monitor.kernel.records import Mention
from monitor.runtime import Runtime, build_runtime
from monitor.service.daemon import plan_jobs
from monitor.settings import ConfigError, load_settings
from monitor.storage.mentions import store_mentions
from tests.helpers import mention, write_config, write_jsonl
from tests.test_mailer import Recorder, start

WEEK_47 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
# Monday of W48, 07:30 and 08:30 in Madrid (UTC+1): before and after the 08:00 digest.
BEFORE = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
AFTER = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Recorder]]:
    handler = Recorder()
    controller = start(handler)
    yield controller, handler
    controller.stop()


def configure(tmp_path: Path, port: int, **digest: Any) -> Path:
    replay = write_jsonl(tmp_path / "r.jsonl", [mention(0, "ACME", WEEK_47)])
    path = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "db.sqlite")
    data = yaml.safe_load(path.read_text())
    data["digest"] = {
        "timezone": "Europe/Madrid",
        "locale": "es",
        "recipients": ["marketing@example.com"],
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "sender": "p@x.org"},
        **digest,
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def runtime(path: Path, now: list[datetime]) -> Runtime:
    rt = build_runtime(load_settings(path), clock=lambda: now[0])
    mentions = [
        Mention(
            source="x", external_id=str(k), text="ACME ok", created_at=WEEK_47 + timedelta(hours=k)
        )
        for k in range(20)
    ]
    neutral = Sentiment("neutral", 0.0, 0.9, "es", "t")
    with rt.sessions.begin() as session:
        store_mentions(session, "acme", mentions, {m.key: neutral for m in mentions})
    return rt


def test_sent_once_after_its_local_time(tmp_path: Path, smtp: tuple[Controller, Recorder]) -> None:
    controller, handler = smtp
    now = [BEFORE]
    rt = runtime(configure(tmp_path, controller.port), now)
    assert "digest" in [job.id for job in plan_jobs(rt)]
    assert send_due_digests(rt).sent == 0 and handler.envelopes == []  # not 08:00 yet
    now[0] = AFTER
    assert send_due_digests(rt).sent == 1
    now[0] = AFTER + timedelta(hours=3)
    assert send_due_digests(rt).sent == 0  # once a week, also after a restart:
    rt.close()
    rt = build_runtime(load_settings(tmp_path / "pulso.yaml"), clock=lambda: now[0])
    assert send_due_digests(rt).sent == 0
    rt.close()
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["marketing@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "ACME — semana 47: 20 menciones, sentimiento neto 0"
    assert message.get_content_type() == "multipart/alternative"


def test_cli_sends_a_chosen_week_now(
    tmp_path: Path, smtp: tuple[Controller, Recorder], capsys: pytest.CaptureFixture[str]
) -> None:
    controller, handler = smtp
    path = configure(tmp_path, controller.port)
    runtime(path, [AFTER]).close()
    args = ["digest", "--config", str(path), "--week", "2026-W47", "--send"]
    assert main(args) == 0
    assert "digests sent: 1" in capsys.readouterr().out
    assert main(args) == 0  # already sent: not again
    assert "digests sent: 0" in capsys.readouterr().out
    assert len(handler.envelopes) == 1


def test_digest_config_errors_name_the_key(tmp_path: Path) -> None:
    for digest, expected in (
        (
            {"timezone": "Mars/Olympus"},
            "digest.timezone: unknown time zone 'Mars/Olympus' (e.g. Europe/Madrid)",
        ),
        ({"brands": ["nope"]}, "digest.brands: no brand 'nope'"),
        ({"time": "8am"}, "digest.time: '8am' is not a time such as 08:00"),
    ):
        path = configure(tmp_path, 25, **digest)
        with pytest.raises(ConfigError) as caught:
            load_settings(path)
        assert caught.value.errors == [f"{path}: {expected}"]
