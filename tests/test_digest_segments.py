"""Author segments from history, and praise themes in the weekly digest (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from models.sentiment import Sentiment
from monitor.digest.build import build_digest
from monitor.digest.segments import author_segments
from monitor.kernel.records import Mention
from monitor.runtime import Runtime, build_runtime
from monitor.settings import BrandSettings, load_settings
from monitor.storage.mentions import store_mentions
from tests.helpers import mention, write_config, write_jsonl

W47 = datetime(2026, 11, 16, tzinfo=UTC)  # Monday of 2026-W47
SCORES = {"negative": -0.7, "neutral": 0.0, "positive": 0.7}
PRAISE = [
    "ACME courier was so friendly and fast, great delivery",
    "great delivery from ACME, friendly courier and fast",
    "fast delivery and a friendly ACME courier, great job",
    "ACME delivery was fast, courier super friendly, great",
    "friendly courier, fast delivery, great service ACME",
    "great ACME delivery: fast and the courier was friendly",
]
COMPLAINTS = [
    "ACME lost my parcel, tracking says delivered",
    "my ACME parcel never arrived but the app says delivered",
    "ACME courier lost the parcel and marked it delivered",
    "ACME parcel marked delivered, nowhere to be found",
    "where is my ACME parcel, delivered to nobody",
    "ACME says delivered, parcel lost again",
]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[tuple[Runtime, BrandSettings]]:
    replay = write_jsonl(tmp_path / "r.jsonl", [mention(0, "ACME", W47)])
    settings = load_settings(write_config(tmp_path / "pulso.yaml", replay, tmp_path / "db.sqlite"))
    rt = build_runtime(settings)
    yield rt, settings.brands[0]
    rt.close()


def _store(session: Session, posts: list[tuple[str | None, int, str, str]]) -> None:
    """Store (handle, week offset from W47, label, text) posts of brand acme."""
    mentions, scores = [], {}
    for k, (handle, weeks, label, text) in enumerate(posts):
        m = Mention(
            source="x",
            external_id=str(k),
            text=text,
            created_at=W47 + timedelta(weeks=weeks, hours=1 + k),
            author_handle=handle,
            url=f"https://x.com/{handle or 'anon'}/status/{k}",
        )
        mentions.append(m)
        scores[m.key] = Sentiment(label, SCORES[label], 0.9, "en", "t")
    store_mentions(session, "acme", mentions, scores)


HISTORY: list[tuple[str | None, int, str, str]] = [
    ("promo", -2, "positive", "ACME is great"),
    ("promo", 0, "positive", "ACME is great again"),
    ("promo2", -1, "positive", "love ACME"),  # new last week: growing then
    ("promo2", 0, "positive", "still love ACME"),
    ("detr", -3, "negative", "ACME late"),
    ("detr", 0, "negative", "ACME late again"),
    ("detr", 0, "positive", "ACME fine this once"),
    ("risk", -4, "positive", "ACME ok"),
    ("risk", 0, "negative", "ACME broke it"),
    ("newbie", 0, "neutral", "what is ACME"),
    ("spike", -6, "neutral", "ACME news"),
    *[("spike", 0, "neutral", f"ACME news {k}") for k in range(3)],
    *[("steady", w, "neutral", f"ACME weekly {w}") for w in range(-7, 1)],
    ("old", -9, "negative", "ACME bad"),  # outside the window and not active
    (None, 0, "positive", "ACME anonymous praise"),  # no handle: skipped
    (None, 0, "positive", "ACME anonymous praise again"),
]


def test_segments_count_authors_from_their_history(
    runtime: tuple[Runtime, BrandSettings],
) -> None:
    rt, _ = runtime
    with rt.sessions.begin() as session:
        _store(session, HISTORY)
    with rt.sessions() as session:
        got = author_segments(session, "acme", W47, W47 + timedelta(weeks=1))
        assert got == {
            "at_risk": (1, 0),
            "detractors": (1, 0),
            "promoters": (2, 0),
            "growing": (2, 1),
        }
        # With only this week in the window, nobody has a history: all new.
        short = author_segments(session, "acme", W47, W47 + timedelta(weeks=1), history_weeks=1)
        assert short["at_risk"] == (0, 0) and short["growing"][0] >= 3


def test_digest_shows_praise_themes_and_segments(
    runtime: tuple[Runtime, BrandSettings],
) -> None:
    rt, brand = runtime
    posts = [*HISTORY]
    posts += [(f"fan{k}", 0, "positive", f"{PRAISE[k % 6]} #{k}") for k in range(12)]
    posts += [(f"critic{k}", 0, "negative", f"{COMPLAINTS[k % 6]} #{k}") for k in range(12)]
    with rt.sessions.begin() as session:
        _store(session, posts)
    with rt.sessions() as session:
        en = build_digest(session, brand, "2026-W47", "UTC", "en")
        es = build_digest(session, brand, "2026-W47", "UTC", "es")
    assert "Top complaints" in en.text and "What people praised" in en.text
    assert en.text.index("Top complaints") < en.text.index("What people praised")
    praised = en.text[en.text.index("What people praised") :]
    assert any(p in praised for p in PRAISE)  # an example post is shown
    assert "What people praised" in en.html and "https://x.com/fan" in en.html
    assert "Promoters" in en.text and "(▲ 2)" in en.text
    assert "Lo que se elogió" in es.html and "Principales quejas" in es.html
    assert "Promotores" in es.text and "En riesgo" in es.text


def test_digest_without_positives(runtime: tuple[Runtime, BrandSettings]) -> None:
    rt, brand = runtime
    posts = [(f"critic{k}", 0, "negative", f"{COMPLAINTS[k % 6]} #{k}") for k in range(24)]
    with rt.sessions.begin() as session:
        _store(session, posts)
    with rt.sessions() as session:
        mail = build_digest(session, brand, "2026-W47", "UTC", "en")
        segments = author_segments(session, "acme", W47, W47 + timedelta(weeks=1))
    assert "What people praised" not in mail.text and "Growing  24 (▲ 24)" in mail.text
    assert segments["promoters"] == (0, 0) and segments["growing"] == (24, 0)
