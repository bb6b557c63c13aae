"""A source failing for half an hour, or gone quiet when it is usually busy, is an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from models.sentiment import Sentiment
from monitor.detection.source_alerts import check_sources
from monitor.kernel.records import Mention
from monitor.runtime import Runtime, build_runtime
from monitor.settings import load_settings
from monitor.storage.health import record_failure, record_success
from monitor.storage.mentions import store_mentions
from notifiers.render import plain_text
from tests.helpers import TOUCHPOINTS

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def runtime(tmp_path: Path) -> Runtime:
    path = tmp_path / "pulso.yaml"
    config = {
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "brands": [
            {
                "id": "acme",
                "name": "ACME",
                "keywords": ["acme"],
                "sources": {"hackernews": {}},
            }
        ],
        "notifiers": {"console": {}},
        "touchpoints": str(TOUCHPOINTS),
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return build_runtime(load_settings(path))


def test_a_source_failing_for_30_minutes_opens_then_resolves(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    brand = rt.settings.brands[0]
    with rt.sessions.begin() as session:
        record_failure(session, "acme", "hackernews", NOW, "hackernews: server error (HTTP 503)")
        assert check_sources(session, brand, ["console"], NOW + timedelta(minutes=20)) == []
        record_failure(session, "acme", "hackernews", NOW + timedelta(minutes=25), "timed out")
        (opened,) = check_sources(session, brand, ["console"], NOW + timedelta(minutes=31))
        assert opened.kind == "opened" and opened.rule == "source_down:hackernews"
        assert "failed for 31 min (2 tries)" in opened.detail and "timed out" in opened.detail
        text = plain_text(opened)
        assert "ACME: source down (hackernews)" in text and "timed out" in text
        assert check_sources(session, brand, ["console"], NOW + timedelta(minutes=40)) == []
        record_success(session, "acme", "hackernews", NOW + timedelta(minutes=45))
        (resolved,) = check_sources(session, brand, ["console"], NOW + timedelta(minutes=46))
        assert resolved.kind == "resolved" and resolved.sequence == 1
        assert "It was down for 15 min" in plain_text(resolved)
    rt.close()


def test_a_busy_source_gone_silent_opens_and_new_posts_resolve_it(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    brand = rt.settings.brands[0]

    def posts(start: datetime, hours: float) -> None:
        mentions = [
            Mention(
                source="hackernews",
                external_id=f"{int(start.timestamp())}-{k}",
                text="acme",
                created_at=start + timedelta(minutes=6 * k),
            )
            for k in range(int(hours * 10))
        ]
        sentiment = Sentiment("neutral", 0.0, 0.9, "en", "t")
        with rt.sessions.begin() as session:
            store_mentions(session, "acme", mentions, {m.key: sentiment for m in mentions})

    posts(NOW - timedelta(days=8), 8 * 24 - 3)  # ten an hour, until three hours ago
    with rt.sessions.begin() as session:
        (opened,) = check_sources(session, brand, ["console"], NOW)
    assert "no mentions from hackernews in the last 2 h, usually 20" in opened.detail
    posts(NOW, 0.5)
    with rt.sessions.begin() as session:
        (resolved,) = check_sources(session, brand, ["console"], NOW + timedelta(minutes=30))
    assert resolved.kind == "resolved"
    rt.close()
