"""Slack failures through the outbox: rate limits, outages and refused tokens lose
nothing and post once; a failed update of the first message never repeats its reply."""

from __future__ import annotations

import logging

import pytest

from tests.test_slack_lifecycle import START, Harness, harness, make_event, status_line

__all__ = ["harness"]


def test_rate_limit_honours_retry_after_then_delivers_once(harness: Harness) -> None:
    harness.fake.fail_next("chat.postMessage", "ratelimited", retry_after=90)
    harness.queue(make_event())
    report = harness.deliver()
    assert report.sent == 0 and report.retrying == 1
    (row,) = harness.rows()
    assert row.status == "pending"  # a 429 is a refusal: nothing to look for later
    assert (row.next_attempt_at - harness.clock.now).total_seconds() >= 90
    harness.clock.advance(60)
    assert harness.deliver().sent == 0  # not due yet
    harness.clock.advance(60)
    assert harness.deliver().sent == 1

    assert len(harness.fake.messages) == 1
    assert [c["status"] for c in harness.fake.calls_to("chat.postMessage")] == [429, 200]
    assert harness.fake.calls_to("conversations.history") == []
    (row,) = harness.rows()
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None


def test_server_error_is_retried_with_backoff_after_checking_slack(harness: Harness) -> None:
    harness.fake.fail_next("chat.postMessage", "server_error")
    harness.queue(make_event())
    harness.deliver()
    (row,) = harness.rows()
    assert row.status == "sending"  # a 500 may come after Slack posted: look before resending
    wait = (row.next_attempt_at - harness.clock.now).total_seconds()
    assert 10 <= wait <= 20
    assert "server error 500" in (row.last_error or "")
    harness.clock.advance(wait)
    assert harness.deliver().sent == 1

    assert len(harness.fake.messages) == 1
    assert len(harness.fake.calls_to("conversations.history")) == 1
    assert harness.outbox.health["slack"] == "ok"


def test_invalid_auth_is_logged_once_shown_in_health_and_delivered_after_the_fix(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.fake.fail_next("chat.postMessage", "invalid_auth", times=3)
    harness.queue(make_event())
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            harness.deliver()
            harness.clock.advance(3600)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "invalid_auth" in errors[0].getMessage()
    assert harness.outbox.health["slack"] == "error: invalid_auth"
    assert harness.fake.messages == []
    (row,) = harness.rows()
    assert row.status == "pending" and row.attempts == 3

    assert harness.deliver().sent == 1  # the token works again
    assert len(harness.fake.messages) == 1
    assert harness.outbox.health["slack"] == "ok"


@pytest.mark.parametrize("kind", ["server_error", "invalid_auth", "ratelimited"])
def test_a_failed_root_update_is_retried_without_a_second_reply(
    harness: Harness, kind: str
) -> None:
    harness.queue(make_event())
    harness.deliver()
    harness.fake.fail_next("chat.update", kind, retry_after=30)
    harness.queue(make_event("escalated", 1, severity="critical"))
    assert harness.deliver().sent == 0

    root, reply = harness.fake.messages
    assert root["edits"] == []
    escalated = harness.rows()[1]
    assert escalated.status == "posted"
    assert escalated.delivery_ref == f"{reply['channel']}:{reply['ts']}"
    if kind == "invalid_auth":
        assert harness.outbox.health["slack"] == "error: invalid_auth"
    harness.clock.advance(3600)
    assert harness.deliver().sent == 1

    assert len(harness.fake.messages) == 2
    assert len(harness.fake.calls_to("chat.postMessage")) == 2
    assert len(harness.fake.messages[0]["edits"]) == 1
    assert harness.rows()[1].status == "sent"


def test_a_later_event_waits_for_an_earlier_one_that_is_backing_off(harness: Harness) -> None:
    harness.queue(make_event())
    harness.deliver()
    harness.fake.fail_next("chat.postMessage", "ratelimited", retry_after=120)
    harness.queue(make_event("escalated", 1, severity="critical"))
    harness.deliver()
    harness.clock.advance(30)
    harness.queue(make_event("resolved", 2, severity="critical", resolved_at=START.isoformat()))
    report = harness.deliver()
    assert report.sent == 0 and report.blocked == 1  # the resolution must not overtake
    escalated = harness.rows()[1]
    assert harness.outbox.next_due() == escalated.next_attempt_at  # not the held-back row
    harness.clock.advance(120)
    assert harness.deliver().sent == 2

    root, *replies = harness.fake.messages
    assert [r["text"].split(":")[0] for r in replies] == ["Escalated", "Resolved"]
    assert status_line(root).startswith("*✅ Resolved")


def test_a_deleted_root_cannot_be_updated_and_that_is_not_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.queue(make_event())
    harness.deliver()
    harness.fake.delete_message(harness.fake.messages[0]["ts"])
    harness.queue(make_event("escalated", 1, severity="critical"))
    with caplog.at_level(logging.WARNING, logger="notifiers.slack"):
        assert harness.deliver().sent == 1
    assert "cannot be updated" in caplog.text
    assert harness.outbox.health["slack"] == "ok"
