"""Slack through the outbox: outages, rate limits and bad tokens lose nothing, post once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.kernel.records import utcnow
from monitor.runtime import Runtime, build_runtime
from monitor.service.daemon import run_once
from monitor.settings import load_settings
from monitor.storage.schema import OutboxRow
from notifiers.slack_format import escape, safe_link
from tests.fakes.slack_api import FakeSlack
from tests.helpers import series, write_config, write_jsonl


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def runtime(tmp_path: Path, slack_env: FakeSlack) -> Iterator[Runtime]:
    replay = write_jsonl(tmp_path / "acme.jsonl", series())
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db")
    rt = build_runtime(load_settings(config))
    yield rt
    rt.close()


def _slack_rows(rt: Runtime) -> list[OutboxRow]:
    with rt.sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.notifier == "slack")))


def _cycle_with_clock(rt: Runtime) -> Clock:
    clock = Clock()
    rt.clock = rt.outbox.clock = clock
    run_once(rt, delivery_wait=0)
    return clock


@pytest.mark.parametrize("kind", ["ratelimited", "server_error", "timeout"])
def test_transient_failures_keep_the_alert_queued_then_deliver_once(
    runtime: Runtime, slack_env: FakeSlack, kind: str
) -> None:
    slack_env.timeout_sleep = 2.5
    slack_env.fail_next("chat.postMessage", kind, times=2, retry_after=120)
    slack = runtime.outbox.notifiers["slack"]
    slack.settings = slack.settings.model_copy(update={"timeout_seconds": 1})
    clock = _cycle_with_clock(runtime)
    (row,) = _slack_rows(runtime)
    # A 429 is a refusal; after a 500 or a timeout Slack may have posted: look first.
    assert row.status == ("pending" if kind == "ratelimited" else "sending")
    assert row.attempts == 1
    wait = (row.next_attempt_at - clock.now).total_seconds()
    if kind == "ratelimited":
        assert wait >= 120  # Retry-After is honoured
    assert wait > 0
    runtime.outbox.deliver_due()  # not due yet: nothing is sent
    assert len(slack_env.calls_to("chat.postMessage")) == 1
    clock.advance(wait + 1)
    report = runtime.outbox.deliver_due()
    if kind == "timeout":
        # Slack posted before the client gave up: the next try finds the post, sends nothing.
        assert report.sent == 1
        attempts = 2
    else:
        assert report.sent == 0  # the second scripted failure
        clock.advance(3600)
        assert runtime.outbox.deliver_due().sent == 1
        attempts = 3
    (row,) = _slack_rows(runtime)
    assert row.status == "sent" and row.attempts == attempts and row.delivery_ref
    delivered = [m for m in slack_env.messages if "ACME: negative spike" in m["text"]]
    assert len(delivered) == 1
    runtime.outbox.deliver_due()
    assert len(slack_env.messages) == 1


def test_invalid_auth_logs_one_clear_error_and_delivers_after_the_fix(
    runtime: Runtime, slack_env: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack_env.fail_next("chat.postMessage", "invalid_auth", times=4)
    with caplog.at_level(logging.WARNING, logger="monitor.delivery.outbox"):
        clock = _cycle_with_clock(runtime)
        for _ in range(3):
            clock.advance(3600)
            runtime.outbox.deliver_due()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "invalid_auth" in errors[0].getMessage()
    assert runtime.outbox.health["slack"] == "error: invalid_auth"
    assert slack_env.messages == []
    (row,) = _slack_rows(runtime)
    assert row.status == "pending" and row.attempts == 4
    clock.advance(3600)
    assert runtime.outbox.deliver_due().sent == 1
    assert len(slack_env.messages) == 1
    assert runtime.outbox.health["slack"] == "ok"


def test_resolution_is_threaded_under_the_alert(runtime: Runtime, slack_env: FakeSlack) -> None:
    from monitor import pipeline

    run_once(runtime)
    later = utcnow() + timedelta(hours=2)
    runtime.clock = runtime.outbox.clock = lambda: later
    (event,) = pipeline.detect(runtime, "acme")
    assert event.kind == "resolved"
    pipeline.deliver(runtime)
    root, reply = slack_env.messages
    assert reply["thread_ts"] == root["ts"]
    assert "Resolved" in reply["text"] and "negative mentions in all" in reply["text"]


def test_escape_defeats_every_ping() -> None:
    text = "<!channel> <!here> <!everyone> <@U024BE7LH> <#C123> @channel @here & <b>"
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert "&amp;" in escaped and "&lt;!channel&gt;" in escaped
    assert "@channel" not in escaped and "@here" not in escaped


def test_links_from_posts_cannot_smuggle_markup() -> None:
    assert safe_link("https://x.com/a/status/1?x=1&y=2", "@a on x") == (
        "<https://x.com/a/status/1?x=1&amp;y=2|@a on x>"
    )
    assert safe_link("https://evil.example/|<!channel>", "@a") == "@a"
    assert safe_link("javascript:alert(1)", "<b>") == "&lt;b&gt;"


def test_long_posts_are_cut_cleanly(runtime: Runtime, slack_env: FakeSlack) -> None:
    run_once(runtime)
    blocks = json.dumps(slack_env.messages[0]["blocks"])
    assert all(
        len(b["text"]["text"]) < 3000 for b in slack_env.messages[0]["blocks"] if "text" in b
    )
    assert "verbatim" in blocks
