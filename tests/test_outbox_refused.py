"""Refused deliveries recover by themselves: while running within 5 minutes, at a start at
once; only refusals move forward, a try that may still land keeps its lease, and nothing
is posted twice."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.delivery.digests import deliver_digests, queue_digest, retry_refused
from monitor.delivery.outbox import IN_FLIGHT_LEASE, PERMANENT_DELAY, Outbox
from monitor.storage.engine import make_engine, migrate, session_factory
from monitor.storage.outbox import REFUSED
from monitor.storage.schema import DigestRow
from notifiers.base import PermanentError
from tests.test_slack_idempotency import Killed, kill_after_post
from tests.test_slack_lifecycle import START, Harness, harness, make_event

__all__ = ["harness"]


def test_a_refusal_fixed_in_slack_is_picked_up_within_five_minutes(harness: Harness) -> None:
    harness.fake.fail_next("chat.postMessage", "channel_not_found")
    harness.queue(make_event())
    assert harness.deliver().sent == 0
    (row,) = harness.rows()
    assert (row.last_error or "").startswith(REFUSED)
    assert PERMANENT_DELAY <= 300  # the bot was invited meanwhile
    harness.clock.advance(PERMANENT_DELAY)
    assert harness.deliver().sent == 1
    assert len(harness.fake.messages) == 1


def test_a_start_moves_refusals_forward_and_nothing_else(harness: Harness) -> None:
    harness.queue(make_event())
    harness.deliver()  # alert 1 opened
    harness.fake.fail_next("chat.update", "invalid_auth")
    harness.queue(make_event("escalated", 1, severity="critical"))
    harness.deliver()  # the reply is posted, the root's update refused
    harness.fake.fail_next("chat.postMessage", "ratelimited", retry_after=600)
    harness.queue(make_event(alert_id=2))
    harness.deliver()
    _, escalated, limited = harness.rows()
    assert escalated.status == "posted" and (escalated.last_error or "").startswith(REFUSED)
    assert limited.status == "pending" and not (limited.last_error or "").startswith(REFUSED)

    harness.restart()
    assert harness.outbox.on_start() == 1  # the refused follow-up, not the rate-limited post
    _, escalated, limited = harness.rows()
    assert escalated.next_attempt_at == harness.clock.now
    assert (limited.next_attempt_at - harness.clock.now).total_seconds() >= 600
    assert harness.deliver().sent == 1

    root, _reply = harness.fake.messages  # alert 2 still waits for its Retry-After
    assert len(root["edits"]) == 1  # the follow-up ran once more, the reply was not re-sent
    assert len(harness.fake.calls_to("chat.postMessage")) == 3


def test_a_start_leaves_a_try_that_may_still_land_to_its_lease(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.queue(make_event())
    kill_after_post(monkeypatch)
    with pytest.raises(Killed):
        harness.deliver()
    harness.fake.fail_next("conversations.history", "missing_scope")
    harness.restart()
    harness.clock.advance(IN_FLIGHT_LEASE + 1)
    assert harness.deliver().sent == 0  # cannot look for it: held back, not re-posted
    (row,) = harness.rows()
    assert row.status == "sending" and (row.last_error or "").startswith(REFUSED)

    harness.restart()
    assert harness.outbox.on_start() == 0
    harness.clock.advance(PERMANENT_DELAY)
    assert harness.deliver().sent == 1
    assert len(harness.fake.messages) == 1


def test_rows_of_a_notifier_no_longer_configured_wait(harness: Harness) -> None:
    harness.queue(make_event())
    harness.outbox = Outbox(harness.sessions, {}, harness.clock)
    harness.deliver()
    (row,) = harness.rows()
    assert row.last_error == f"{REFUSED}notifier 'slack' is not configured"
    assert harness.outbox.on_start() == 0
    assert harness.outbox.waiting() == 1


def test_a_refused_digest_is_mailed_at_the_next_start(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pulso.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        assert queue_digest(session, "acme", "2026-W47", "team", START, recipients=["a@x.test"])
    sent: list[EmailMessage] = []

    def refuse(message: EmailMessage) -> None:
        raise PermanentError("535 authentication failed", code=535)

    build = lambda row: EmailMessage()  # noqa: E731
    assert deliver_digests(sessions, build, refuse, START).refused == 1
    assert deliver_digests(sessions, build, sent.append, START).sent == 0  # not due
    assert retry_refused(sessions, START) == 1  # the password was fixed, Pulso restarted
    assert deliver_digests(sessions, build, sent.append, START).sent == 1
    assert len(sent) == 1
    with sessions() as session:
        row = session.scalars(select(DigestRow)).one()
        assert row.status == "sent" and row.last_error is None
    assert retry_refused(sessions, START) == 0
    engine.dispose()
