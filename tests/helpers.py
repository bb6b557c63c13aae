"""Builders for test data: small, deterministic mention series and config files."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

END = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

ORDINARY = [
    ("positive", "I love ACME, great service as always"),
    ("positive", "ACME delivered early, thank you so much!"),
    ("neutral", "Ordered a lamp from ACME today"),
    ("neutral", "Does ACME deliver on Sundays?"),
    ("neutral", "ACME van parked outside the office"),
    ("negative", "ACME support was terrible today"),
]
HOSTILE = "<!channel> ACME & co LOST my parcel, worst service ever <@U024BE7LH> @here"
COMPLAINTS = [
    "ACME lost my parcel again, worst service ever, so angry (order {k})",
    "Tracking says delivered but my ACME parcel never arrived. Terrible!",
    "ACME marked my package as delivered and it is nowhere. Awful service",
    "Third time ACME loses a parcel of mine, I hate this (order {k})",
    "Where is my parcel @acme?? Delivered my foot, worst courier ever",
]
TOUCHPOINTS = Path(__file__).parents[1] / "config" / "touchpoints.yaml"
# Read at import: the autouse fixture clears PULSO_* variables before each test.
POSTGRES_SERVER = os.environ.get(
    "PULSO_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432"
)


def mention(i: int, text: str, at: datetime, **extra: Any) -> dict[str, Any]:
    """One flat mention object, as a replay file holds it."""
    data: dict[str, Any] = {
        "source": "x",
        "external_id": f"{1_800_000_000_000_000_000 + i}",
        "url": f"https://x.com/user{i % 50}/status/{1_800_000_000_000_000_000 + i}",
        "author_handle": f"user{i % 50}",
        "author_name": f"User {i % 50}",
        "text": text,
        "lang": "en",
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "likes": 0,
        "reposts": 0,
        "replies": 0,
    }
    data.update(extra)
    return data


def series(
    end: datetime = END, days: int = 8, per_bucket: int = 1, spike: int = 40, seed: int = 7
) -> list[dict[str, Any]]:
    """Ordinary chatter every 5 minutes for `days`, then `spike` complaints in the last 15 min."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    start = end - timedelta(days=days)
    t, i = start, 0
    while t < end - timedelta(minutes=15):
        for _ in range(per_bucket):
            _, text = ORDINARY[rng.randrange(len(ORDINARY))]
            items.append(mention(i, text, t + timedelta(seconds=rng.randrange(300))))
            i += 1
        t += timedelta(minutes=5)
    for k in range(spike):
        at = end - timedelta(minutes=15) + timedelta(seconds=int(k * 880 / max(spike, 1)))
        text = COMPLAINTS[k % len(COMPLAINTS)].format(k=k)
        items.append(mention(i, text, at))
        i += 1
    items.append(mention(i, HOSTILE, end - timedelta(minutes=2), likes=500, reposts=90))
    items.sort(key=lambda m: m["created_at"])
    return items


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> Path:
    """Write mention objects one per line."""
    path.write_text("".join(json.dumps(m) + "\n" for m in items), encoding="utf-8")
    return path


def write_config(path: Path, replay: Path, database: Path, **extra: Any) -> Path:
    """A config for one brand, ACME, replaying `replay`."""
    config: dict[str, Any] = {
        "database_url": f"sqlite:///{database}",
        "brands": [
            {
                "id": "acme",
                "name": "ACME",
                "keywords": ["ACME", "@acme"],
                "sources": {"replay": {"path": str(replay), "align": "now"}},
            }
        ],
        "notifiers": {"console": {}},
        "touchpoints": str(TOUCHPOINTS),
    }
    config.update(extra)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def throwaway_postgres() -> AbstractContextManager[str]:
    """A context manager: the URL of a new empty database on the local PostgreSQL server
    (PULSO_TEST_POSTGRES), dropped afterwards; skips the test if there is no server."""
    import uuid
    from contextlib import contextmanager

    import pytest
    from sqlalchemy import create_engine, text

    server = POSTGRES_SERVER

    @contextmanager
    def database() -> Iterator[str]:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        name = f"pulso_test_{uuid.uuid4().hex[:12]}"
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # pragma: no cover - depends on the machine
            if os.environ.get("CI"):
                raise
            pytest.skip(f"no PostgreSQL server at {server}: {exc}")
        try:
            yield f"{server}/{name}"
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    return database()


def quarantine_row(external_id: str, seen: datetime, payload: str = "{}") -> Any:
    """A mention set aside at the store stage (as the pipeline keeps one), last seen `seen`."""
    from monitor.storage.schema import QuarantineRow

    return QuarantineRow(
        brand="acme",
        source="x",
        external_id=external_id,
        payload=payload,
        stage="store",
        error="DataError: NUL",
        first_seen_at=seen,
        last_seen_at=seen,
        attempts=1,
    )
