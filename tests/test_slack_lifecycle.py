"""An incident's life in Slack through the outbox: the real slack-sdk against the fake.

Opened → one message with blocks, a text fallback and metadata; escalated, updated and
resolved → replies in its thread; escalation and resolution also refresh its status line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.delivery.outbox import DeliveryReport, Outbox
from monitor.kernel.events import AlertEvent, Example, ThemeSummary
from monitor.storage.engine import make_engine, migrate, session_factory
from monitor.storage.outbox import enqueue
from monitor.storage.schema import AlertRow, OutboxRow
from notifiers.slack import SlackNotifier, SlackSettings
from tests.fakes.slack_api import FakeSlack

START = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
ROUTES = [
    {"brand": "paquetto", "severity": "critical", "channel": "#paquetto-war-room"},
    {"brand": "nubento", "channel": "#nubento"},
]


class Clock:
    """A clock the test moves by hand (the outbox's and the fake Slack's)."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def example(i: int, text: str = "ACME lost my parcel again, worst service ever") -> Example:
    return Example(
        text=text,
        url=f"https://x.com/user{i}/status/{1000 + i}",
        source="x",
        author=f"user{i}",
        created_at=START.isoformat(),
    )


def make_event(kind: str = "opened", sequence: int = 0, **changes: Any) -> AlertEvent:
    """A negative-spike event of alert #1 for ACME; `changes` override any field."""
    event = AlertEvent(
        kind="opened",
        alert_id=1,
        brand="acme",
        brand_name="ACME",
        rule="negative_spike",
        severity="warning",
        started_at=START.isoformat(),
        window_start=(START - timedelta(minutes=15)).isoformat(),
        window_end=START.isoformat(),
        observed_negative=41,
        expected_negative=3.2,
        observed_total=60,
        expected_total=20.0,
        negative_share=0.68,
        usual_share=0.17,
        z=9.5,
        examples=(example(1), example(2)),
        sources={"x": 30, "bluesky": 11},
        touchpoints={"delivery": 35},
        themes=(
            ThemeSummary("lost parcel · delivered", 24, (example(1), example(2))),
            ThemeSummary("refund · waiting", 9, (example(3, "Still waiting for my refund"),)),
        ),
        peak_negative=41,
    )
    return replace(event, kind=kind, sequence=sequence, **changes)  # type: ignore[arg-type]


@dataclass
class Harness:
    """A database, an outbox with the Slack notifier, a clock and the fake Slack."""

    fake: FakeSlack
    sessions: sessionmaker[Session]
    clock: Clock
    outbox: Outbox

    @property
    def notifier(self) -> SlackNotifier:
        found = self.outbox.notifiers["slack"]
        assert isinstance(found, SlackNotifier)
        return found

    def restart(self) -> None:
        """A new process: a fresh notifier (no cached channel ids), a fresh outbox."""
        self.outbox = Outbox(
            sessions=self.sessions,
            notifiers={"slack": SlackNotifier(self.notifier.settings)},
            clock=self.clock,
        )

    def queue(self, *events: AlertEvent) -> None:
        """Record the events' incidents and queue the events, as detection does."""
        with self.sessions.begin() as session:
            for event in events:
                if session.get(AlertRow, event.alert_id) is None:
                    session.add(
                        AlertRow(
                            id=event.alert_id,
                            brand=event.brand,
                            rule=event.rule,
                            status="firing",
                            severity=event.severity,
                            started_at=START,
                            last_firing_at=START,
                            peak_negative=event.peak_negative,
                            details={},
                        )
                    )
                    session.flush()
                enqueue(session, event, ["slack"], self.clock())

    def deliver(self) -> DeliveryReport:
        return self.outbox.deliver_due()

    def rows(self) -> list[OutboxRow]:
        with self.sessions() as session:
            return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def settings_for(fake: FakeSlack, **values: Any) -> SlackSettings:
    """Slack settings validated the way the config loader does it."""
    environ = {"PULSO_SLACK_BOT_TOKEN": fake.token, "PULSO_SLACK_API_URL": fake.base_url}
    data = {"channel": "#cx-alerts", "routes": ROUTES, **values}
    return SlackSettings.model_validate(data, context={"environ": environ})


@pytest.fixture
def harness(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Harness]:
    """The outbox delivering to the fake Slack through the real SlackNotifier."""
    for channel in ("#paquetto-war-room", "#nubento"):
        fake_slack.add_channel(channel)
    clock = Clock()
    fake_slack.clock = lambda: clock.now.timestamp()
    engine = make_engine(f"sqlite:///{tmp_path / 'pulso.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    notifier = SlackNotifier(settings_for(fake_slack))
    outbox = Outbox(sessions=sessions, notifiers={"slack": notifier}, clock=clock)
    yield Harness(fake_slack, sessions, clock, outbox)
    engine.dispose()


def block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """The visible text of each block."""
    texts = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts.extend(e["text"] for e in block.get("elements", ()))
    return texts


def status_line(message: dict[str, Any]) -> str:
    (status,) = [b for b in message["blocks"] if b.get("block_id") == "pulso_status"]
    return str(status["elements"][0]["text"])


def test_opened_posts_one_message_with_blocks_fallback_and_metadata(harness: Harness) -> None:
    harness.queue(make_event())
    assert harness.deliver().sent == 1

    (message,) = harness.fake.messages
    body = message["body"]
    assert message["channel"] == harness.fake.channel_id("#cx-alerts")
    assert message["thread_ts"] is None
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert body["metadata"] == {
        "event_type": "pulso_alert",
        "event_payload": {"key": "alert:1:0:slack", "alert_id": 1, "kind": "opened"},
    }
    header = message["blocks"][0]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "ACME: negative spike (warning)"},
    }
    assert status_line(message) == "*🟠 Open · warning*"
    text = "\n".join(block_texts(message["blocks"]))
    assert "41 negative mentions in the last 15 min, usually 3 at this time of day" in text
    assert "negative share 68% (usually 17%)" in text and "since 18:00 UTC" in text
    assert "*Sources:* x 30 · bluesky 11" in text and "*Touchpoints:* delivery 35" in text
    assert "*Theme: lost parcel · delivered* (24 posts)" in text
    assert "<https://x.com/user1/status/1001|@user1 on x>" in text
    assert message["text"].startswith("Alert: ACME: negative spike (warning). 41 negative")
    (row,) = harness.rows()
    assert row.status == "sent" and row.attempts == 1
    assert row.delivery_ref == f"{message['channel']}:{message['ts']}"


def test_escalation_replies_in_the_thread_and_updates_the_root(harness: Harness) -> None:
    harness.queue(make_event())
    harness.deliver()
    harness.clock.advance(600)
    escalated = make_event(
        "escalated",
        1,
        severity="critical",
        observed_negative=90,
        window_end=(START + timedelta(minutes=10)).isoformat(),
    )
    harness.queue(escalated)
    assert harness.deliver().sent == 1

    root, reply = harness.fake.messages
    assert reply["thread_ts"] == root["ts"] and reply["channel"] == root["channel"]
    assert reply["text"].startswith("Escalated: ACME: negative spike (critical). 90 negative")
    assert "*Escalated to critical.*" in block_texts(reply["blocks"])[0]
    assert reply["body"]["metadata"]["event_payload"]["key"] == "alert:1:1:slack"
    (edit,) = root["edits"]
    assert edit["channel"] == root["channel"] and edit["ts"] == root["ts"]
    assert root["blocks"][0]["text"]["text"] == "ACME: negative spike (critical)"
    assert status_line(root) == "*🔴 Open · critical · escalated at 18:10 UTC*"
    assert root["metadata"]["event_payload"]["key"] == "alert:1:0:slack"  # kept by the update
    assert [r.status for r in harness.rows()] == ["sent", "sent"]


def test_new_theme_is_a_thread_reply_and_leaves_the_root_alone(harness: Harness) -> None:
    themes = (
        *make_event().themes,
        ThemeSummary("app crash · login", 7, (example(4, "The app crashes at login"),)),
    )
    harness.queue(make_event(), make_event("updated", 1, themes=themes))
    assert harness.deliver().sent == 2

    root, reply = harness.fake.messages
    assert reply["thread_ts"] == root["ts"]
    text = "\n".join(block_texts(reply["blocks"]))
    assert "New complaint theme" in text
    assert "*Theme: app crash · login* (7 posts)" in text
    assert "The app crashes at login" in text
    assert "app crash · login (7)" in reply["text"]
    assert root["edits"] == []


def test_resolution_reports_peak_duration_total_and_marks_the_root(harness: Harness) -> None:
    harness.queue(make_event())
    harness.deliver()
    before = harness.fake.messages[0]["blocks"]
    resolved_at = START + timedelta(hours=1, minutes=20)
    harness.clock.now = resolved_at
    harness.queue(
        make_event(
            "resolved",
            1,
            themes=(),
            examples=(),
            peak_negative=97,
            total_negative=412,
            resolved_at=resolved_at.isoformat(),
        )
    )
    assert harness.deliver().sent == 1

    root, reply = harness.fake.messages
    assert reply["thread_ts"] == root["ts"]
    assert (
        "*Resolved.* Back to normal at 19:20 UTC. Lasted 1 h 20 min; peak 97"
        in (block_texts(reply["blocks"])[0])
    )
    assert "412 negative mentions in all" in reply["text"]
    assert status_line(root) == "*✅ Resolved after 1 h 20 min*"
    # Only the status line changed: the themes and examples are still there.
    unchanged = [b for b in root["blocks"] if b.get("block_id") != "pulso_status"]
    assert unchanged == [b for b in before if b.get("block_id") != "pulso_status"]
    assert root["text"].startswith("Resolved: ACME: negative spike (warning).")


def test_a_whole_incident_in_one_pass_keeps_its_order(harness: Harness) -> None:
    harness.queue(
        make_event(),
        make_event("escalated", 1, severity="critical"),
        make_event("updated", 2, severity="critical"),
        make_event("resolved", 3, severity="critical", resolved_at=START.isoformat()),
    )
    assert harness.deliver().sent == 4

    root, *replies = harness.fake.messages
    assert [r["thread_ts"] for r in replies] == [root["ts"]] * 3
    assert [r["text"].split(":")[0] for r in replies] == [
        "Escalated",
        "New complaint theme",
        "Resolved",
    ]
    assert len(root["edits"]) == 2
    assert status_line(root).startswith("*✅ Resolved after")


def test_routes_send_each_incident_to_its_channel_and_replies_follow_the_root(
    harness: Harness,
) -> None:
    harness.queue(
        make_event(alert_id=1, brand="paquetto", severity="critical"),
        make_event(alert_id=2, brand="nubento"),
        make_event(alert_id=3, brand="paquetto"),
        make_event(alert_id=4, brand="acme", severity="critical"),
    )
    harness.deliver()
    # Alert 3 opens as a warning and escalates: its reply stays in the root's channel.
    harness.queue(make_event("escalated", 1, alert_id=3, brand="paquetto", severity="critical"))
    harness.deliver()

    channel = harness.fake.channel_id
    by_alert = {
        m["body"]["metadata"]["event_payload"]["key"]: m["channel"] for m in harness.fake.messages
    }
    assert by_alert == {
        "alert:1:0:slack": channel("#paquetto-war-room"),
        "alert:2:0:slack": channel("#nubento"),
        "alert:3:0:slack": channel("#cx-alerts"),
        "alert:4:0:slack": channel("#cx-alerts"),
        "alert:3:1:slack": channel("#cx-alerts"),
    }


def test_an_update_names_the_theme_that_is_new(harness: Harness) -> None:
    fresh = replace(make_event("updated", 1), new_themes=("refund · <!channel> · late",))
    harness.queue(make_event(), fresh)
    assert harness.deliver().sent == 2
    _, reply = harness.fake.messages
    assert reply["text"].startswith("New complaint theme: refund · &lt;!channel&gt; · late")
    assert "<!channel>" not in json.dumps(reply["body"]["blocks"])
