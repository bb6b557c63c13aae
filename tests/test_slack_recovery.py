"""A refused Slack token recovers by itself: once the token is fixed, a restart delivers the
queued alert within seconds, once; the start's `auth.test` says what is wrong in one line."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.runtime import Runtime, build_runtime
from monitor.service.daemon import run_once
from monitor.settings import load_settings
from monitor.storage.schema import OutboxRow
from tests.fakes.slack_api import FakeSlack
from tests.helpers import series, write_config, write_jsonl

WRONG_TOKEN = "xoxb-revoked-token"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    replay = write_jsonl(tmp_path / "acme.jsonl", series())
    return write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db")


def _start(config: Path) -> Runtime:
    """A new process on `config`, reading the environment as it is now."""
    return build_runtime(load_settings(config))


def _slack_rows(rt: Runtime) -> list[OutboxRow]:
    with rt.sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.notifier == "slack")))


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_fixed_token_delivers_the_queued_alert_at_the_next_start_once(
    config: Path,
    slack_env: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PULSO_SLACK_BOT_TOKEN", WRONG_TOKEN)
    rt = _start(config)
    with caplog.at_level(logging.INFO):
        run_once(rt, delivery_wait=0)
    rt.close()
    assert slack_env.messages == []
    (row,) = _slack_rows(rt)
    assert row.status == "pending" and "invalid_auth" in (row.last_error or "")
    # One ERROR line, from the start's check, names the variable to fix; the refused
    # delivery that follows does not repeat it.
    (error,) = _errors(caplog)
    assert "PULSO_SLACK_BOT_TOKEN" in error and "invalid_auth" in error
    assert WRONG_TOKEN not in caplog.text
    # The refused alert is waiting for a retry, and the cycle's summary says so.
    assert "1 waiting for retry" in caplog.text

    monkeypatch.setenv("PULSO_SLACK_BOT_TOKEN", slack_env.token)  # the fix, then a restart
    caplog.clear()
    rt = _start(config)
    began = time.monotonic()
    with caplog.at_level(logging.INFO):
        run_once(rt, delivery_wait=0)
    rt.close()
    assert time.monotonic() - began < 30  # collecting the replay takes most of it

    (message,) = slack_env.messages
    assert "ACME: negative spike" in message["text"]
    (row,) = _slack_rows(rt)
    assert row.status == "sent" and row.last_error is None
    assert _errors(caplog) == []
    assert "0 waiting for retry" in caplog.text

    rt = _start(config)  # another start finds nothing to retry and posts nothing more
    run_once(rt, delivery_wait=0)
    rt.close()
    assert len(slack_env.messages) == 1


def test_the_cycle_counts_an_alert_that_is_not_due_yet_as_waiting(
    config: Path, slack_env: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack_env.fail_next("chat.postMessage", "ratelimited", retry_after=600)
    rt = _start(config)
    run_once(rt, delivery_wait=0)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="monitor.service.daemon"):
        run_once(rt, delivery_wait=0)  # the next cycle: the alert waits for Retry-After
    rt.close()
    assert slack_env.messages == []
    assert "0 alert messages delivered, 1 waiting for retry" in caplog.text
