"""Weekly digest figures: exact counts on a known week, in a local zone, on both databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from models.sentiment import Sentiment
from monitor.digest.data import week_digest
from monitor.digest.figures import Mover, WeekDigest
from monitor.digest.weeks import parse_week
from monitor.kernel.records import Mention
from monitor.storage.engine import make_engine, migrate, session_factory
from monitor.storage.mentions import store_mentions
from monitor.storage.schema import AlertRow

SERVER = os.environ.get("PULSO_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
MADRID = ZoneInfo("Europe/Madrid")
SCORES = {
    label: Sentiment(label, score, 0.9, "en", "test")  # type: ignore[arg-type]
    for label, score in (("negative", -0.8), ("neutral", 0.0), ("positive", 0.8))
}


def _local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=MADRID)  # type: ignore[arg-type, misc]


def _store(session: Session, brand: str, rows: list[tuple[Any, ...]], start_id: int = 0) -> None:
    """rows: (source, handle, label, created_at, touchpoints, followers, likes)."""
    mentions, scores, tags = [], {}, {}
    for i, (source, handle, label, at, touchpoints, followers, likes) in enumerate(rows):
        m = Mention(
            source=source,
            external_id=f"{brand}-{start_id + i}",
            text=f"post {i}",
            created_at=at,
            author_handle=handle,
            author_name=handle.title(),
            author_followers=followers,
            likes=likes,
            reposts=2 if likes else 0,
            replies=1 if likes else 0,
        )
        mentions.append(m)
        scores[m.key] = SCORES[label]
        tags[m.key] = touchpoints
    store_mentions(session, brand, mentions, scores, tags)


def _alert(session: Session, brand: str, rule: str, status: str, **extra: Any) -> None:
    started = extra.pop("started_at")
    session.add(
        AlertRow(
            brand=brand,
            rule=rule,
            status=status,
            severity=extra.pop("severity", "warning"),
            started_at=started,
            last_firing_at=started,
            details={},
            **extra,
        )
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated empty database: SQLite, and PostgreSQL when the local server is up."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'digest.db'}")
        migrate(engine)
        yield session_factory(engine)
        engine.dispose()
        return
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    name = f"pulso_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {SERVER}: {exc}")
    engine = make_engine(f"{SERVER}/{name}")
    try:
        migrate(engine)
        yield session_factory(engine)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def known_week(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """2026-W47 in Madrid (UTC+1): 6 mentions, and 4 in the week before."""
    with sessions.begin() as session:
        _store(
            session,
            "acme",
            [
                # Monday 00:30 in Madrid is still Sunday in UTC.
                ("x", "ana", "negative", _local(2026, 11, 16, 0, 30), ["delivery"], 1000, 0),
                ("x", "ana", "positive", _local(2026, 11, 16, 12, 0), ["delivery"], 900, 0),
                ("reddit", "bob", "negative", _local(2026, 11, 17, 10, 0), ["billing"], None, 5),
                ("reddit", "bob", "negative", _local(2026, 11, 18, 10, 0), [], None, 0),
                ("x", "cy", "neutral", _local(2026, 11, 22, 23, 30), ["app"], 50, 0),
                ("x", "dee", "positive", _local(2026, 11, 20, 9, 0), ["delivery"], 20, 0),
                # Next Monday 00:10 in Madrid: next week there, this week in UTC.
                ("x", "eve", "negative", _local(2026, 11, 23, 0, 10), [], 5000, 0),
                # The week before (W46).
                ("x", "ana", "positive", _local(2026, 11, 10, 9, 0), ["delivery"], 1000, 0),
                ("x", "ana", "negative", _local(2026, 11, 11, 9, 0), ["delivery"], 1000, 0),
                ("reddit", "bob", "positive", _local(2026, 11, 12, 9, 0), ["billing"], None, 0),
                ("x", "fay", "positive", _local(2026, 11, 13, 9, 0), [], 10, 0),
                # W40, the oldest week of the trend, and W39, just outside it.
                ("x", "gus", "positive", _local(2026, 9, 30, 9, 0), [], 10, 0),
                ("x", "gus", "negative", _local(2026, 9, 27, 9, 0), [], 10, 0),
            ],
        )
        _store(
            session, "other", [("x", "zed", "negative", _local(2026, 11, 17), [], 10**6, 0)], 100
        )
        _alert(
            session,
            "acme",
            "volume_spike",
            "resolved",
            severity="critical",
            started_at=datetime(2026, 11, 17, 9, 0, tzinfo=UTC),
            resolved_at=datetime(2026, 11, 17, 10, 30, 40, tzinfo=UTC),
            peak_negative=12,
        )
        _alert(
            session,
            "acme",
            "negative_share",
            "firing",
            started_at=datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
            peak_negative=7,
        )
        week = datetime(2026, 11, 18, tzinfo=UTC)
        _alert(session, "acme", "source_down:reddit", "firing", started_at=week)
        _alert(session, "acme", "volume_spike", "pending", started_at=week)
        _alert(session, "other", "volume_spike", "firing", started_at=week)
        _alert(
            session,
            "acme",
            "volume_spike",
            "resolved",
            started_at=datetime(2026, 11, 11, tzinfo=UTC),
            resolved_at=datetime(2026, 11, 11, 1, tzinfo=UTC),
        )
    return sessions


def _digest(sessions: sessionmaker[Session], *args: Any, **kwargs: Any) -> WeekDigest:
    with sessions() as session:
        return week_digest(session, *args, **kwargs)


def test_headline_and_week_over_week(known_week: sessionmaker[Session]) -> None:
    d = _digest(known_week, "acme", "2026-W47", tz="Europe/Madrid")
    now, before, change = d.headline.current, d.headline.previous, d.headline.change
    assert (now.mentions, now.unique_authors, now.alerts_fired) == (6, 4, 2)
    assert (now.negative, now.neutral, now.positive) == (3, 1, 2)
    assert now.negative_share == pytest.approx(0.5)
    assert now.neutral_share == pytest.approx(1 / 6)
    assert now.positive_share == pytest.approx(1 / 3)
    assert now.net_sentiment == -17
    assert (before.mentions, before.unique_authors, before.alerts_fired) == (4, 3, 1)
    assert (before.negative, before.neutral, before.positive) == (1, 0, 3)
    assert before.net_sentiment == 50
    assert (change.mentions, change.unique_authors, change.alerts_fired) == (2, 1, 1)
    assert (change.negative, change.neutral, change.positive) == (2, 1, -1)
    assert change.negative_share == pytest.approx(0.25)
    assert change.positive_share == pytest.approx(1 / 3 - 0.75)
    assert change.net_sentiment == -67
    assert d.start == datetime(2026, 11, 15, 23, 0, tzinfo=UTC)
    assert d.end == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_daily_split_follows_the_local_zone(known_week: sessionmaker[Session]) -> None:
    madrid = _digest(known_week, "acme", "2026-W47", tz="Europe/Madrid")
    assert [d.day for d in madrid.daily] == [date(2026, 11, 16 + k) for k in range(7)]
    assert [(d.negative, d.neutral, d.positive) for d in madrid.daily] == [
        (1, 0, 1),
        (1, 0, 0),
        (1, 0, 0),
        (0, 0, 0),
        (0, 0, 1),
        (0, 0, 0),
        (0, 1, 0),
    ]
    utc = _digest(known_week, "acme", "2026-W47")
    # In UTC the Monday 00:30 post is last week's, and next Monday's 00:10 is this Sunday's.
    assert [(d.negative, d.neutral, d.positive) for d in utc.daily] == [
        (0, 0, 1),
        (1, 0, 0),
        (1, 0, 0),
        (0, 0, 0),
        (0, 0, 1),
        (0, 0, 0),
        (1, 1, 0),
    ]
    assert utc.headline.previous.mentions == 5


def test_net_sentiment_trend(known_week: sessionmaker[Session]) -> None:
    d = _digest(known_week, "acme", "2026-W47", tz="Europe/Madrid")
    weeks = [(w.week, w.mentions, w.net_sentiment) for w in d.net_sentiment_weeks]
    assert weeks == [
        ("2026-W40", 1, 100),
        *((f"2026-W{n}", 0, None) for n in range(41, 46)),
        ("2026-W46", 4, 50),
        ("2026-W47", 6, -17),
    ]


def _movers(movers: tuple[Mover, ...]) -> list[tuple[Any, ...]]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 9)

    return [
        (m.name, m.mentions, r(m.negative_share), r(m.previous_negative_share), r(m.change))
        for m in movers
    ]


def test_sources_and_touchpoints_worst_movers_first(known_week: sessionmaker[Session]) -> None:
    d = _digest(known_week, "acme", "2026-W47", tz="Europe/Madrid")
    assert _movers(d.by_source) == [
        ("reddit", 2, 1.0, 0.0, 1.0),
        ("x", 4, 0.25, round(1 / 3, 9), round(-1 / 12, 9)),
    ]
    assert _movers(d.by_touchpoint) == [
        ("billing", 1, 1.0, 0.0, 1.0),
        ("delivery", 3, round(1 / 3, 9), 0.5, round(-1 / 6, 9)),
        ("app", 1, 0.0, None, None),
    ]


def test_incidents_and_voices(known_week: sessionmaker[Session]) -> None:
    d = _digest(known_week, "acme", "2026-W47", tz="Europe/Madrid")
    assert [(i.rule, i.severity, i.duration_minutes, i.peak_negative) for i in d.incidents] == [
        ("volume_spike", "critical", 90, 12),
        ("negative_share", "warning", None, 7),
    ]
    assert d.incidents[0].started_at == datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    assert d.incidents[1].resolved_at is None
    voices = [
        (v.source, v.handle, v.followers, v.engagement, v.reach, v.mentions) for v in d.voices
    ]
    assert voices == [
        ("x", "ana", 1000, 0, 1000, 2),
        ("x", "cy", 50, 0, 50, 1),
        ("x", "dee", 20, 0, 20, 1),
        ("reddit", "bob", None, 8, 8, 2),
    ]
    assert (d.voices[0].negative, d.voices[0].neutral, d.voices[0].positive) == (1, 0, 1)
    assert (d.voices[3].negative, d.voices[3].name) == (2, "Bob")


def test_empty_week(known_week: sessionmaker[Session]) -> None:
    d = _digest(known_week, "acme", "2026-W30", tz="Europe/Madrid")
    assert d.headline.current.mentions == 0
    assert d.headline.current.negative_share == 0.0
    assert d.headline.current.net_sentiment == 0
    assert d.headline.change.mentions == 0
    assert all((x.negative, x.neutral, x.positive) == (0, 0, 0) for x in d.daily)
    assert all(w.net_sentiment is None for w in d.net_sentiment_weeks)
    assert (d.by_source, d.by_touchpoint, d.incidents, d.voices) == ((), (), (), ())


def test_brand_with_one_mention(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _store(session, "solo", [("x", "ana", "negative", _local(2026, 11, 18), [], None, 0)])
    d = _digest(sessions, "solo", "2026-W47")
    assert (d.headline.current.mentions, d.headline.current.unique_authors) == (1, 1)
    assert d.headline.current.negative_share == 1.0
    assert d.headline.current.net_sentiment == -100
    assert d.headline.change.net_sentiment == -100
    assert d.by_source == (Mover("x", 1, 1.0, None, None),)
    assert [(v.handle, v.reach, v.mentions) for v in d.voices] == [("ana", 0, 1)]


def test_week_across_the_autumn_dst_change(sessions: sessionmaker[Session]) -> None:
    # Madrid leaves summer time on Sunday 25 October 2026: W43 lasts 169 hours.
    with sessions.begin() as session:
        _store(
            session,
            "acme",
            [
                ("x", "a", "negative", _local(2026, 10, 19, 0, 15), [], None, 0),  # 18th UTC
                ("x", "b", "neutral", _local(2026, 10, 25, 2, 30), [], None, 0),  # first 02:30
                ("x", "c", "positive", _local(2026, 10, 25, 23, 30), [], None, 0),  # 22:30 UTC
                ("x", "d", "positive", _local(2026, 10, 26, 0, 15), [], None, 0),  # next week
                ("x", "e", "positive", _local(2026, 10, 18, 23, 45), [], None, 0),  # last week
            ],
        )
    d = _digest(sessions, "acme", "2026-W43", tz="Europe/Madrid")
    assert d.start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
    assert d.end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert d.end - d.start == timedelta(hours=169)
    assert [(x.negative, x.neutral, x.positive) for x in d.daily] == [
        (1, 0, 0),
        *([(0, 0, 0)] * 5),
        (0, 1, 1),
    ]
    assert d.headline.previous.mentions == 1


def test_week_labels() -> None:
    assert parse_week("2026-W47") == date(2026, 11, 16)
    assert parse_week("2026-W53") == date(2026, 12, 28)
    with pytest.raises(ValueError, match="ISO week"):
        parse_week("2026-47")
    with pytest.raises(ValueError, match="does not exist"):
        parse_week("2025-W53")
