"""Nothing is posted twice: a crash or a timeout after Slack took a message is recovered
by finding the message (its metadata carries the delivery key), never by posting again."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from monitor.delivery.outbox import IN_FLIGHT_LEASE, PERMANENT_DELAY
from monitor.storage.schema import OutboxRow
from notifiers.base import PermanentError
from notifiers.slack import SlackNotifier
from tests.test_slack_lifecycle import Harness, harness, make_event, settings_for

__all__ = ["harness"]  # the fixture, shared with the lifecycle tests


class Killed(BaseException):
    """The process dies here (kill -9): no handler runs, nothing more is committed."""


def kill_after_post(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack accepts the next post, then the process dies before the outbox hears of it."""
    real = SlackNotifier.send

    def send(self: SlackNotifier, *args: Any, **kwargs: Any) -> str:
        real(self, *args, **kwargs)
        monkeypatch.setattr(SlackNotifier, "send", real)
        raise Killed

    monkeypatch.setattr(SlackNotifier, "send", send)


def after_lease(h: Harness) -> None:
    h.clock.advance(IN_FLIGHT_LEASE + 1)


def keys(h: Harness) -> list[str]:
    return [m["body"]["metadata"]["event_payload"]["key"] for m in h.fake.messages]


def keys_or_none(h: Harness) -> list[str | None]:
    return [(m["metadata"] or {}).get("event_payload", {}).get("key") for m in h.fake.messages]


def test_a_crash_after_posting_the_root_never_posts_it_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.queue(make_event())
    kill_after_post(monkeypatch)
    with pytest.raises(Killed):
        harness.deliver()
    (row,) = harness.rows()
    assert row.status == "sending" and row.attempts == 1
    (posted,) = harness.fake.messages

    harness.restart()  # a new process knows nothing but the database
    assert harness.deliver().sent == 0  # still within the in-flight lease
    after_lease(harness)
    assert harness.deliver().sent == 1

    assert keys(harness) == ["alert:1:0:slack"]
    (row,) = harness.rows()
    assert row.status == "sent" and row.delivery_ref == f"{posted['channel']}:{posted['ts']}"
    # "#cx-alerts" is a name: its id is looked up once, then its history is searched.
    (history,) = harness.fake.calls_to("conversations.history")
    assert history["body"]["channel"] == posted["channel"]
    assert history["body"]["include_all_metadata"] in ("1", "true")
    assert float(history["body"]["oldest"]) < float(posted["ts"])
    assert len(harness.fake.calls_to("conversations.list")) == 1


def test_a_failed_commit_after_posting_never_posts_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_commit = Session.commit

    def commit(session: Session) -> None:
        if any(isinstance(o, OutboxRow) and o.status == "posted" for o in session.dirty):
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        real_commit(session)

    harness.queue(make_event())
    monkeypatch.setattr(Session, "commit", commit)
    with pytest.raises(OperationalError):
        harness.deliver()
    monkeypatch.setattr(Session, "commit", real_commit)
    assert harness.rows()[0].status == "sending"

    after_lease(harness)
    assert harness.deliver().sent == 1
    assert keys(harness) == ["alert:1:0:slack"]


def test_a_crash_after_a_thread_reply_finds_it_and_still_updates_the_root(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.queue(make_event())
    harness.deliver()
    harness.queue(make_event("escalated", 1, severity="critical"))
    kill_after_post(monkeypatch)
    with pytest.raises(Killed):
        harness.deliver()
    root, reply = harness.fake.messages
    assert root["edits"] == []  # the process died before the root's update

    harness.restart()
    after_lease(harness)
    assert harness.deliver().sent == 1

    assert keys(harness) == ["alert:1:0:slack", "alert:1:1:slack"]
    (replies,) = harness.fake.calls_to("conversations.replies")
    assert replies["body"]["ts"] == root["ts"]
    assert len(harness.fake.messages[0]["edits"]) == 1
    assert harness.rows()[1].delivery_ref == f"{reply['channel']}:{reply['ts']}"


def test_a_crash_before_the_post_left_posts_it_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def send(self: SlackNotifier, *args: Any, **kwargs: Any) -> str:
        raise Killed

    harness.queue(make_event())
    monkeypatch.setattr(SlackNotifier, "send", send)
    with pytest.raises(Killed):
        harness.deliver()
    monkeypatch.undo()
    assert harness.fake.messages == []

    after_lease(harness)
    assert harness.deliver().sent == 1
    assert keys(harness) == ["alert:1:0:slack"]


def test_a_timeout_after_slack_posted_is_found_not_reposted(harness: Harness) -> None:
    harness.fake.timeout_sleep = 2.0
    harness.fake.fail_next("chat.postMessage", "timeout")
    slack = harness.notifier.settings.model_copy(update={"timeout_seconds": 1})
    harness.outbox.notifiers["slack"] = SlackNotifier(slack)  # type: ignore[index]
    harness.queue(make_event())
    harness.deliver()
    (row,) = harness.rows()
    assert row.status == "sending" and "unreachable" in (row.last_error or "")

    harness.clock.advance(60)
    assert harness.deliver().sent == 1
    assert keys(harness) == ["alert:1:0:slack"]


def test_the_search_pages_through_a_busy_channel(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.queue(make_event())
    kill_after_post(monkeypatch)
    with pytest.raises(Killed):
        harness.deliver()
    people = WebClient(token=harness.fake.token, base_url=harness.fake.base_url, timeout=2)
    for i in range(450):  # the channel keeps talking after Pulso's post
        people.chat_postMessage(channel="#cx-alerts", text=f"chatter {i}")

    harness.restart()
    after_lease(harness)
    assert harness.deliver().sent == 1
    assert len(harness.fake.calls_to("conversations.history")) == 3
    assert keys_or_none(harness).count("alert:1:0:slack") == 1


def test_a_channel_id_needs_no_lookup_of_the_name(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifier = SlackNotifier(settings_for(harness.fake, channel="C0PULSO", routes=[]))
    harness.outbox.notifiers["slack"] = notifier  # type: ignore[index]
    harness.queue(make_event())
    kill_after_post(monkeypatch)
    with pytest.raises(Killed):
        harness.deliver()
    after_lease(harness)
    assert harness.deliver().sent == 1
    assert harness.fake.calls_to("conversations.list") == []
    assert keys(harness) == ["alert:1:0:slack"]


def test_an_unknown_channel_name_is_a_clear_permanent_error(harness: Harness) -> None:
    notifier = SlackNotifier(settings_for(harness.fake, channel="#renamed", routes=[]))
    with pytest.raises(PermanentError, match="no Slack channel named #renamed") as caught:
        notifier.find_delivered(make_event(), "alert:1:0:slack", None, harness.clock())
    assert caught.value.code == "channel_not_found"


def test_without_the_scope_to_check_the_event_waits_rather_than_risk_a_duplicate(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    harness.queue(make_event())
    kill_after_post(monkeypatch)
    with pytest.raises(Killed):
        harness.deliver()
    harness.fake.fail_next("conversations.history", "missing_scope", times=2)
    harness.restart()
    with caplog.at_level(logging.ERROR, logger="monitor.delivery.outbox"):
        for _ in range(2):
            harness.clock.advance(PERMANENT_DELAY)
            assert harness.deliver().sent == 0
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "channels:history" in error.getMessage()
    assert harness.outbox.health["slack"] == "error: missing_scope"
    assert harness.rows()[0].status == "sending"

    harness.clock.advance(PERMANENT_DELAY)  # the scope was granted
    assert harness.deliver().sent == 1
    assert keys(harness) == ["alert:1:0:slack"]
