"""An open incident tells people about a new kind of complaint, once, and not about drift."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from models.sentiment import Sentiment
from monitor.detection.lifecycle import detect_brand
from monitor.detection.rules import build_rules
from monitor.kernel.events import AlertEvent
from monitor.kernel.records import Mention
from monitor.runtime import Runtime, build_runtime
from monitor.settings import BrandSettings, load_settings
from monitor.storage.mentions import store_mentions, themes_of
from tests.helpers import write_config

T = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
OPENERS = ["ugh", "seriously", "again", "wow", "honestly", "great", "so", "day three and"]
CLOSERS = ["never again", "so angry", "what a joke", "unbelievable", "thanks for nothing", "😡"]
PARCELS = [
    "ACME lost my parcel, tracking says delivered",
    "my ACME parcel never arrived but the app says delivered",
    "ACME courier lost the parcel and marked it delivered",
]
REFUNDS = [
    "ACME charged my card twice and refuses the refund",
    "still no refund from ACME after the double charge",
    "ACME billing charged me twice, where is my refund",
]


def vary(text: str, k: int) -> str:
    """A complaint in somebody's own words (copies of one wording are not a theme)."""
    return f"{OPENERS[k % len(OPENERS)]} {text}, {CLOSERS[(k // 2) % len(CLOSERS)]}"


class Feed:
    """Stores mentions for one brand with the label the test decides."""

    def __init__(self, rt: Runtime, brand: BrandSettings) -> None:
        self.rt, self.brand, self.count = rt, brand, 0

    def add(self, items: list[tuple[datetime, str, str]]) -> None:
        mentions, sentiments = [], {}
        for at, text, label in items:
            self.count += 1
            repost = text.startswith("RT ")
            m = Mention(
                source="x",
                external_id=str(self.count),
                text=text,
                created_at=at,
                is_repost=repost,
            )
            mentions.append(m)
            score = -0.8 if label == "negative" else 0.1
            sentiments[m.key] = Sentiment(label, score, 0.9, "en", "test")
        with self.rt.sessions.begin() as session:
            store_mentions(session, self.brand.id, mentions, sentiments)

    def complaints(self, start: datetime, texts: list[str], n: int) -> None:
        self.add(
            [
                (start + timedelta(seconds=50 * k), vary(texts[k % len(texts)], k), "negative")
                for k in range(n)
            ]
        )

    def detect(self, now: datetime) -> list[AlertEvent]:
        with self.rt.sessions.begin() as session:
            rules = build_rules(self.brand.detector)
            return detect_brand(session, self.brand, rules, ["console"], now)


def test_a_new_theme_is_announced_once_and_drift_is_not(tmp_path: Path) -> None:
    config = write_config(tmp_path / "pulso.yaml", tmp_path / "none.jsonl", tmp_path / "db.sqlite")
    settings = load_settings(config)
    rt = build_runtime(settings)
    feed = Feed(rt, settings.brands[0])
    rng = random.Random(5)
    start = T - timedelta(days=8)
    feed.add(
        [
            (start + timedelta(minutes=5 * i), "ACME order placed today", "neutral")
            for i in range(8 * 288)
            if rng.random() < 0.5
        ]
    )
    feed.complaints(T - timedelta(minutes=15), PARCELS, 18)
    shared = "RT @someone: " + vary(PARCELS[0], 1)  # its original is older than the window
    feed.add([(T - timedelta(minutes=1 + k), shared, "negative") for k in range(5)])
    opened = feed.detect(T)
    assert [e.kind for e in opened] == ["opened"]
    shown = [e.text for theme in opened[0].themes for e in theme.examples]
    assert shown and not any(text.startswith("RT ") for text in shown)

    feed.complaints(T, PARCELS[::-1], 18)  # the same complaint, other words
    assert feed.detect(T + timedelta(minutes=15)) == []

    feed.complaints(T + timedelta(minutes=15), PARCELS, 10)
    feed.complaints(T + timedelta(minutes=16), REFUNDS, 12)
    (update,) = feed.detect(T + timedelta(minutes=30))
    assert update.kind == "updated" and update.sequence == 1
    assert update.new_themes and any("refund" in t or "charged" in t for t in update.new_themes)
    assert update.themes[0].label == update.new_themes[0]

    feed.complaints(T + timedelta(minutes=30), REFUNDS + PARCELS, 24)
    assert feed.detect(T + timedelta(minutes=45)) == []  # nothing new since

    with rt.sessions() as session:  # each complaint remembers the theme it fell in
        stored = themes_of(session, update.alert_id)
    assert set(stored) >= {opened[0].themes[0].label, update.new_themes[0]}
    assert stored[update.new_themes[0]] >= 8
    rt.close()
