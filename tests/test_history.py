"""History has incidents: a backfilled past replayed through the live rules, kept historical."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.sentiment import Label, Sentiment
from monitor.detection.backtest import backtest_series
from monitor.detection.history import record_history
from monitor.detection.lifecycle import detect_brand
from monitor.digest import queries
from monitor.digest.render import render_digest
from monitor.kernel.records import Mention
from monitor.runtime import Runtime, build_runtime
from monitor.settings import load_settings
from monitor.storage.mentions import bucket_counts, store_mentions
from monitor.storage.schema import AlertRow, OutboxRow
from tests.helpers import write_config
from tests.test_digest_render import DAILY, _digest

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # when the backfill ran
SINCE = END - timedelta(days=8)
BURST = END - timedelta(days=2, hours=3)  # a bucket boundary, well inside the span
# Incidents start with their firing window: the 15 minutes that end with the first burst bucket.
STARTED = BURST - timedelta(minutes=10)


@pytest.fixture(params=["sqlite", "postgresql"])
def rt(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        request.getfixturevalue("monkeypatch").setenv("PULSO_DATABASE_URL", url)
    config = write_config(tmp_path / "pulso.yaml", tmp_path / "none.jsonl", tmp_path / "db.sqlite")
    made = build_runtime(load_settings(config))
    yield made
    made.close()


class Feed:
    """Stores ACME mentions with the label the test decides."""

    def __init__(self, rt: Runtime) -> None:
        self.rt, self.count = rt, 0

    def add(self, items: list[tuple[datetime, Label]]) -> None:
        mentions, sentiments = [], {}
        for at, label in items:
            self.count += 1
            m = Mention(
                source="x", external_id=str(self.count), text=f"ACME {label}", created_at=at
            )
            mentions.append(m)
            sentiments[m.key] = Sentiment(
                label, -0.8 if label == "negative" else 0.1, 0.9, "en", "t"
            )
        with self.rt.sessions.begin() as session:
            store_mentions(session, "acme", mentions, sentiments)

    def chatter(self, start: datetime, end: datetime) -> None:
        """Three mentions every five minutes, one of them negative."""
        items, at = [], start
        while at < end:
            items += [
                (at + timedelta(seconds=20 * k), "neutral" if k else "negative") for k in range(3)
            ]
            at += timedelta(minutes=5)
        self.add(items)

    def burst(self, start: datetime, minutes: int = 15) -> None:
        """Twenty-five complaints every five minutes."""
        self.add(
            [
                (start + timedelta(minutes=5 * b, seconds=10 * k), "negative")
                for b in range(minutes // 5)
                for k in range(25)
            ]
        )


def history(rt: Runtime, start: datetime = SINCE, end: datetime = END) -> list[int]:
    brand = rt.brand("acme")
    with rt.sessions.begin() as session:
        return [
            a.stored_id for a in record_history(session, brand, rt.detectors["acme"], start, end)
        ]


def rows(rt: Runtime) -> list[AlertRow]:
    with rt.sessions() as session:
        found = list(session.scalars(select(AlertRow).order_by(AlertRow.id)))
        session.expunge_all()
        return found


def outbox(rt: Runtime) -> int:
    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


def test_a_backfilled_burst_is_one_historical_incident_and_backtest_agrees(rt: Runtime) -> None:
    feed = Feed(rt)
    feed.chatter(SINCE, END)
    feed.burst(BURST)
    assert len(history(rt)) == 1
    (alert,) = rows(rt)
    assert alert.historical and alert.rule == "negative_spike" and alert.status == "resolved"
    assert alert.started_at == STARTED
    assert alert.details["observed_negative"] >= 25 and alert.details["opened_at"]
    assert outbox(rt) == 0  # never delivered
    # The backtest of the same stored counts tells the same story.
    with rt.sessions() as session:
        counts = bucket_counts(session, "acme", SINCE, END, 300)
    series = [(datetime.fromtimestamp(b * 300, UTC), t, n) for b, (t, n) in sorted(counts.items())]
    (told,) = backtest_series(series, "negative", rt.brand("acme").detector)
    assert (told.started_at, told.resolved_at) == (alert.started_at, alert.resolved_at)
    assert told.fired_at.isoformat() == alert.details["opened_at"]
    # Again over the same span: replaced, not duplicated.
    assert len(history(rt)) == 1
    assert [(a.rule, a.started_at, a.historical) for a in rows(rt)] == [
        ("negative_spike", STARTED, True)
    ]
    assert outbox(rt) == 0
    # The digest's incidents of that week show it, marked historical.
    with rt.sessions() as session:
        week = queries.incidents(session, "acme", int(SINCE.timestamp()), int(END.timestamp()))
    assert [(i.rule, i.started_at, i.historical) for i in week] == [
        ("negative_spike", STARTED, True)
    ]


def test_the_live_detector_leaves_a_historical_incident_alone(rt: Runtime) -> None:
    feed = Feed(rt)
    feed.chatter(SINCE, END + timedelta(hours=4))
    feed.burst(END - timedelta(minutes=15), minutes=30)  # still going when the backfill ran
    assert len(history(rt)) == 1
    (before,) = rows(rt)
    assert before.historical and before.status == "firing" and before.resolved_at is None
    brand, rules = rt.brand("acme"), rt.detectors["acme"]
    for minutes in range(5, 245, 5):
        with rt.sessions.begin() as session:
            detect_brand(session, brand, rules, ["console"], END + timedelta(minutes=minutes))
    past, live = rows(rt)
    # Not updated, not resolved: exactly as the history left it.
    assert (past.status, past.last_firing_at, past.resolved_at, past.details) == (
        before.status,
        before.last_firing_at,
        before.resolved_at,
        before.details,
    )
    # The live detector opened and resolved its own incident, and only it reached the outbox.
    assert not live.historical and live.rule == "negative_spike" and live.status == "resolved"
    with rt.sessions() as session:
        alert_ids = set(session.scalars(select(OutboxRow.alert_id)))
    assert alert_ids == {live.id}


def test_history_leaves_out_what_a_live_incident_already_tells(rt: Runtime) -> None:
    feed = Feed(rt)
    feed.chatter(SINCE, END)
    feed.burst(BURST)
    with rt.sessions.begin() as session:  # the daemon was running when it happened
        detect_brand(
            session, rt.brand("acme"), rt.detectors["acme"], [], BURST + timedelta(minutes=10)
        )
    assert history(rt) == []
    assert [a.historical for a in rows(rt)] == [False]


def test_the_digest_labels_historical_incidents_and_nothing_else() -> None:
    plain = _digest(DAILY)
    assert "historical" not in render_digest(plain, "Paquetto").text
    first = replace(plain.incidents[0], historical=True)
    marked = replace(plain, incidents=(first, *plain.incidents[1:]))
    assert "volume_spike (historical)" in render_digest(marked, "Paquetto").text
    assert "volume_spike (histórica)" in render_digest(marked, "Paquetto", locale="es").html
    assert "negative_share (historical)" not in render_digest(marked, "Paquetto").text
