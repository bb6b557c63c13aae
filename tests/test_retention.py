"""Retention: old rows go in batches, their links with them; open work is never deleted."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.runtime import build_runtime
from monitor.service.daemon import plan_jobs
from monitor.settings import RetentionSettings, load_settings
from monitor.storage.engine import make_engine, migrate, session_factory
from monitor.storage.retention import apply_retention
from monitor.storage.schema import (
    AlertRow,
    DigestRow,
    MentionBrandRow,
    MentionRow,
    MentionThemeRow,
    MentionTouchpointRow,
    OutboxRow,
    QuarantineRow,
)
from tests.helpers import quarantine_row, series, throwaway_postgres, write_config, write_jsonl

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SETTINGS = RetentionSettings()  # 400 days of mentions, 730 of alerts, 90 of outbox, 400 digests
OLD_MENTION = NOW - timedelta(days=401)
NEW_MENTION = NOW - timedelta(days=399)


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        yield from _migrated(f"sqlite:///{tmp_path / 'retention.db'}")
        return
    with throwaway_postgres() as url:
        yield from _migrated(url)


def _migrated(url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(url)
    migrate(engine)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _mention(session: Session, key: str, created_at: datetime, alert_id: int) -> int:
    row = MentionRow(
        source="x",
        external_id=key,
        text=f"ACME post {key}",
        created_at=created_at,
        collected_at=created_at,
        sentiment_label="negative",
        sentiment_score=-0.8,
        sentiment_confidence=0.9,
        sentiment_engine="test",
    )
    session.add(row)
    session.flush()
    session.add_all(
        [
            MentionBrandRow(
                mention_id=row.id, brand="acme", created_ts=int(created_at.timestamp())
            ),
            MentionBrandRow(
                mention_id=row.id, brand="other", created_ts=int(created_at.timestamp())
            ),
            MentionTouchpointRow(mention_id=row.id, touchpoint="delivery"),
            MentionThemeRow(mention_id=row.id, alert_id=alert_id, theme="parcel · lost"),
        ]
    )
    return row.id


def _alert(session: Session, status: str, resolved_at: datetime | None) -> int:
    started = (resolved_at or NOW) - timedelta(hours=2)
    row = AlertRow(
        brand="acme",
        rule="negative_spike",
        status=status,
        severity="warning",
        started_at=started,
        last_firing_at=started,
        resolved_at=resolved_at,
        details={},
    )
    session.add(row)
    session.flush()
    return row.id


def _outbox(session: Session, key: str, alert_id: int | None, status: str, at: datetime) -> int:
    row = OutboxRow(
        idempotency_key=key,
        notifier="console",
        alert_id=alert_id,
        event="opened",
        payload={"examples": []},
        status=status,
        attempts=1,
        next_attempt_at=at,
        created_at=at,
        delivered_at=at if status == "sent" else None,
    )
    session.add(row)
    session.flush()
    return row.id


def _digest(session: Session, week: str, status: str, at: datetime) -> int:
    row = DigestRow(
        brand="acme",
        week=week,
        digest_key="default",
        locale="en",
        recipients=["cx@example.com"],
        status=status,
        next_attempt_at=at,
        created_at=at,
        sent_at=at if status == "sent" else None,
    )
    session.add(row)
    session.flush()
    return row.id


def _populate(sessions: sessionmaker[Session]) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    with sessions.begin() as s:
        old = NOW - timedelta(days=731)
        ids["alert_old"] = _alert(s, "resolved", old)  # goes, with its delivered message
        ids["alert_recent"] = _alert(s, "resolved", NOW - timedelta(days=729))
        ids["alert_firing"] = _alert(s, "firing", None)
        ids["alert_pending"] = _alert(s, "pending", None)
        ids["alert_held"] = _alert(s, "resolved", old)  # a message still undelivered: stays
        ids["old_mentions"] = [
            _mention(s, f"old{i}", OLD_MENTION - timedelta(hours=i), ids["alert_firing"])
            for i in range(5)
        ]
        ids["new_mentions"] = [
            _mention(s, f"new{i}", NEW_MENTION, ids["alert_firing"]) for i in range(2)
        ]
        # A recent mention in the old incident's theme: the link goes with the incident.
        ids["themed"] = _mention(s, "themed", NEW_MENTION, ids["alert_old"])
        ids["outbox_old_alert"] = _outbox(s, "a", ids["alert_old"], "sent", old)
        ids["outbox_held"] = _outbox(s, "b", ids["alert_held"], "pending", old)
        ids["outbox_sent_old"] = _outbox(s, "c", ids["alert_firing"], "sent", NOW - timedelta(91))
        ids["outbox_sent_new"] = _outbox(s, "d", ids["alert_firing"], "sent", NOW - timedelta(89))
        ids["outbox_posted_old"] = _outbox(s, "e", ids["alert_firing"], "posted", old)
        ids["outbox_sending_old"] = _outbox(s, "f", None, "sending", old)
        ids["digest_old"] = _digest(s, "2025-W10", "sent", NOW - timedelta(days=401))
        ids["digest_new"] = _digest(s, "2025-W50", "sent", NOW - timedelta(days=399))
        ids["digest_pending"] = _digest(s, "2025-W11", "pending", NOW - timedelta(days=500))
    return ids


def _ids(session: Session, column: Any) -> set[int]:
    return set(session.scalars(select(column)))


def test_retention_deletes_old_rows_and_keeps_open_work(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    ids = _populate(sessions)
    with sessions.begin() as s:  # set-aside posts: one last seen past the horizon
        s.add_all(
            [quarantine_row("q-old", NOW - timedelta(days=731)), quarantine_row("q-new", NOW)]
        )
    caplog.set_level(logging.INFO, logger="monitor.storage.retention")

    counts = apply_retention(sessions, SETTINGS, NOW, batch=2)  # small batches: many rounds

    assert counts == {
        "mentions": 5,
        "mention_brands": 10,
        "mention_touchpoints": 5,
        "mention_themes": 6,  # 5 of the old mentions, 1 of the deleted incident
        "alerts": 1,
        "outbox": 2,  # the delivered message over 90 days old, the deleted incident's
        "digests": 1,
        "quarantine": 1,
    }
    with sessions() as s:
        kept = [*ids["new_mentions"], ids["themed"]]
        assert _ids(s, MentionRow.id) == set(kept)
        assert _ids(s, MentionBrandRow.mention_id) == set(kept)
        assert _ids(s, MentionTouchpointRow.mention_id) == set(kept)
        assert _ids(s, MentionThemeRow.mention_id) == set(ids["new_mentions"])
        assert _ids(s, AlertRow.id) == {
            ids[k] for k in ("alert_recent", "alert_firing", "alert_pending", "alert_held")
        }
        assert _ids(s, OutboxRow.id) == {
            ids[k]
            for k in ("outbox_held", "outbox_sent_new", "outbox_posted_old", "outbox_sending_old")
        }
        assert _ids(s, DigestRow.id) == {ids["digest_new"], ids["digest_pending"]}
        assert set(s.scalars(select(QuarantineRow.external_id))) == {"q-new"}
    (line,) = [r for r in caplog.records if r.name == "monitor.storage.retention"]
    assert line.levelno == logging.INFO
    assert "5 mentions" in line.getMessage() and "1 alerts" in line.getMessage()

    # Nothing is left past the horizon: a second pass deletes nothing.
    again = apply_retention(sessions, SETTINGS, NOW)
    assert set(again.values()) == {0}


def test_deleting_a_mention_cascades_to_its_links(sessions: sessionmaker[Session]) -> None:
    """The foreign keys really cascade (on SQLite only with foreign_keys=ON)."""
    with sessions.begin() as s:
        alert = _alert(s, "firing", None)
        gone = _mention(s, "gone", NEW_MENTION, alert)
        kept = _mention(s, "kept", NEW_MENTION, alert)
    with sessions.begin() as s:
        s.execute(delete(MentionRow).where(MentionRow.id == gone))
    with sessions() as s:
        for column in (
            MentionBrandRow.mention_id,
            MentionTouchpointRow.mention_id,
            MentionThemeRow.mention_id,
        ):
            assert _ids(s, column) == {kept}


def test_retention_is_a_daily_job_and_run_once_still_works(tmp_path: Path) -> None:
    from monitor.service.daemon import run_once

    replay = write_jsonl(tmp_path / "acme.jsonl", series())
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db")
    rt = build_runtime(load_settings(config))
    try:
        (job,) = [job for job in plan_jobs(rt) if job.id == "retention"]
        assert job.seconds == 86400
        assert run_once(rt, delivery_wait=0) == 0
        with rt.sessions() as s:  # the replay is aligned to now: all of it is recent
            assert s.scalar(select(func.count()).select_from(MentionRow)) == len(series())
    finally:
        rt.close()
