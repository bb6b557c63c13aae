"""Slack's token is checked with `auth.test` (the real slack-sdk against the fake): at
start, in one ERROR line naming the variable or the missing scope, and by
`pulso check-config --online`, which exits non-zero with one line per problem."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.delivery.outbox import Outbox
from notifiers.base import RetryableError
from notifiers.slack import SlackNotifier
from tests.fakes.slack_api import BOT_SCOPES, FakeSlack
from tests.helpers import series, write_config, write_jsonl
from tests.test_slack_lifecycle import ROUTES, Harness, harness, settings_for

__all__ = ["harness"]


def _notifier(fake: FakeSlack, **values: object) -> SlackNotifier:
    return SlackNotifier(settings_for(fake, **values))


def _without(*scopes: str) -> tuple[str, ...]:
    return tuple(s for s in BOT_SCOPES if s not in scopes)


def test_a_good_token_with_the_scopes_pulso_uses_has_no_problem(fake_slack: FakeSlack) -> None:
    assert _notifier(fake_slack).check() == []
    (call,) = fake_slack.calls
    assert call["method"] == "auth.test" and call["status"] == 200


def test_a_rejected_token_is_one_problem_naming_the_variable(fake_slack: FakeSlack) -> None:
    notifier = _notifier(fake_slack)
    fake_slack.token = "xoxb-the-new-one"  # the configured token was revoked
    (problem,) = notifier.check()
    assert problem.code == "invalid_auth"
    assert "PULSO_SLACK_BOT_TOKEN" in str(problem) and "xoxb-test-token" not in str(problem)


@pytest.mark.parametrize(
    ("lacking", "named"),
    [
        (("chat:write",), "chat:write"),
        (("channels:history", "groups:history"), "channels:history"),
        (("channels:read", "groups:read"), "channels:read"),
    ],
)
def test_a_missing_scope_is_named(
    fake_slack: FakeSlack, lacking: tuple[str, ...], named: str
) -> None:
    fake_slack.scopes = _without(*lacking)
    (problem,) = _notifier(fake_slack).check()
    assert problem.code == "missing_scope"
    assert f"lacks the {named} scope" in str(problem) and "PULSO_SLACK_BOT_TOKEN" in str(problem)


def test_scopes_of_private_channels_serve_too(fake_slack: FakeSlack) -> None:
    fake_slack.scopes = _without("channels:history", "channels:read")
    assert _notifier(fake_slack).check() == []


def test_channels_given_by_id_need_no_scope_to_look_them_up(fake_slack: FakeSlack) -> None:
    fake_slack.scopes = _without("channels:read", "groups:read")
    assert _notifier(fake_slack, channel="C0PULSO", routes=[]).check() == []
    routes = [*ROUTES[:1], {"brand": "nubento", "channel": "C0NUBENTO"}]
    (problem,) = _notifier(fake_slack, channel="C0PULSO", routes=routes).check()
    assert "channels:read" in str(problem)  # the war room is a #name


def test_without_the_scopes_header_nothing_is_claimed(fake_slack: FakeSlack) -> None:
    fake_slack.scopes = None
    assert _notifier(fake_slack).check() == []


def test_an_unreachable_slack_cannot_tell(fake_slack: FakeSlack) -> None:
    notifier = _notifier(fake_slack)
    fake_slack.stop()
    with pytest.raises(RetryableError, match="Slack unreachable"):
        notifier.check()


def test_the_start_logs_one_error_and_keeps_going(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.fake.token = "xoxb-rotated"
    with caplog.at_level(logging.INFO):
        assert harness.outbox.on_start() == 0
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage().startswith("slack: Slack rejects the bot token in PULSO_SLACK_BOT")
    assert harness.outbox.health["slack"] == "error: invalid_auth"


def test_the_start_names_a_missing_scope_and_an_unreachable_slack_is_a_warning(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.fake.scopes = _without("chat:write")
    with caplog.at_level(logging.WARNING):
        harness.outbox.on_start()
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "lacks the chat:write scope" in error.getMessage()
    caplog.clear()
    harness.fake.stop()
    outbox = Outbox(harness.sessions, harness.outbox.notifiers, harness.clock)
    with caplog.at_level(logging.WARNING, logger="monitor"):
        outbox.on_start()
    (warning,) = [r for r in caplog.records if r.name.startswith("monitor")]
    assert warning.levelno == logging.WARNING and "cannot check" in warning.getMessage()
    assert outbox.health == {}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    replay = write_jsonl(tmp_path / "acme.jsonl", series())
    return write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db")


def test_check_config_stays_offline_unless_asked(
    config: Path, slack_env: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_env.token = "xoxb-rotated"
    assert main(["check-config", str(config)]) == 0
    assert slack_env.calls == []
    assert ": OK (" in capsys.readouterr().out


def test_check_config_online_passes_a_working_token(
    config: Path, slack_env: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--online", str(config)]) == 0
    out, err = capsys.readouterr()
    assert ": OK (" in out and "slack" in out and err == ""
    assert [c["method"] for c in slack_env.calls] == ["auth.test"]


def test_check_config_online_says_each_problem_in_one_line(
    config: Path, slack_env: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_env.token = "xoxb-rotated"
    assert main(["check-config", "--online", str(config)]) == 1
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f"{config}: notifiers.slack: Slack rejects the bot token in ")
    assert "PULSO_SLACK_BOT_TOKEN (invalid_auth)" in line and "OK" not in out
    assert "xoxb-test-token" not in out + err

    slack_env.token = "xoxb-test-token"
    slack_env.scopes = ("channels:read",)  # #cx-alerts is a name: reading it up is fine
    assert main(["check-config", "--online", str(config)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "chat:write" in lines[0] and "channels:history" in lines[1]


def test_check_config_online_fails_when_slack_cannot_be_asked(
    config: Path, slack_env: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_env.stop()
    assert main(["check-config", "--online", str(config)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{config}: notifiers.slack: cannot check it online: Slack unreachable")
