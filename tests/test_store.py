"""Storage: migrations match the models, writes are idempotent and atomic with cursors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from models.sentiment import Sentiment
from monitor.kernel.records import Mention
from monitor.storage.engine import make_engine, migrate, session_factory
from monitor.storage.mentions import (
    bucket_counts,
    load_cursor,
    save_cursor,
    store_mentions,
    stored_keys,
)
from monitor.storage.schema import (
    Base,
    CursorRow,
    MentionBrandRow,
    MentionRow,
    MentionTouchpointRow,
)
from tests.helpers import END, mention

NEG = Sentiment("negative", -0.8, 0.8, "en", "test")


def _mentions(n: int) -> list[Mention]:
    return [
        Mention.from_dict(mention(i, f"ACME {i}", END - timedelta(minutes=i))) for i in range(n)
    ]


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'pulso.db'}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def test_migrations_create_exactly_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    migrate(engine)  # idempotent at every start
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        mode = connection.execute(text("PRAGMA journal_mode")).scalar()
    assert diff == []
    assert mode == "wal"


def test_storing_twice_stores_once(sessions) -> None:  # type: ignore[no-untyped-def]
    batch = _mentions(5)
    scores = {m.key: NEG for m in batch}
    with sessions.begin() as session:
        assert store_mentions(session, "acme", batch, scores) == 5
    with sessions.begin() as session:
        assert store_mentions(session, "acme", batch, scores) == 0
        # The same posts about a second brand are linked, not copied.
        assert store_mentions(session, "other", batch[:2], {}) == 2
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(MentionRow)) == 5
        assert session.scalar(select(func.count()).select_from(MentionBrandRow)) == 7


def test_mentions_and_cursor_commit_together(sessions) -> None:  # type: ignore[no-untyped-def]
    batch = _mentions(3)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        store_mentions(session, "acme", batch, {m.key: NEG for m in batch})
        save_cursor(session, "acme", "replay", "after-3")
        raise RuntimeError("crash before commit")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(MentionRow)) == 0
        assert load_cursor(session, "acme", "replay") is None
    with sessions.begin() as session:
        store_mentions(session, "acme", batch, {m.key: NEG for m in batch})
        save_cursor(session, "acme", "replay", "after-3")
    with sessions() as session:
        assert load_cursor(session, "acme", "replay") == "after-3"
        assert session.get(CursorRow, ("acme", "replay")) is not None


def test_bucket_counts(sessions) -> None:  # type: ignore[no-untyped-def]
    batch = _mentions(12)  # one a minute before END
    scores = {
        m.key: NEG if i % 3 == 0 else Sentiment("positive", 0.5, 0.5, "en", "t")
        for i, m in enumerate(batch)
    }
    with sessions.begin() as session:
        store_mentions(session, "acme", batch, scores)
        counts = bucket_counts(
            session, "acme", END - timedelta(hours=1), END + timedelta(minutes=1), 300
        )
    assert sum(t for t, _ in counts.values()) == 12
    assert sum(n for _, n in counts.values()) == 4
    assert counts[int(END.timestamp()) // 300] == (1, 1)


def test_untrusted_text_is_stored_verbatim(sessions) -> None:  # type: ignore[no-untyped-def]
    nasty = "ACME'); DROP TABLE mentions; -- \" \\ %s :name"
    item = Mention.from_dict(mention(1, nasty, END))
    with sessions.begin() as session:
        store_mentions(session, "acme", [item], {item.key: NEG})
    with sessions() as session:
        assert session.scalar(select(MentionRow.text)) == nasty


def test_a_large_page_stored_twice_stores_and_links_each_once(sessions) -> None:  # type: ignore[no-untyped-def]
    batch = _mentions(5_000)
    scores = {m.key: NEG for m in batch}
    tags = {m.key: ["delivery"] for m in batch[:100]}
    with sessions.begin() as session:
        assert store_mentions(session, "acme", batch, scores, tags) == 5_000
    with sessions.begin() as session:
        assert store_mentions(session, "acme", batch, scores, tags) == 0
        assert stored_keys(session, batch).keys() == {m.key for m in batch}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(MentionRow)) == 5_000
        links = select(func.count(func.distinct(MentionBrandRow.mention_id)), func.count())
        assert session.execute(links).one() == (5_000, 5_000)
        tagged = select(func.count()).select_from(MentionTouchpointRow)
        assert session.scalar(tagged) == 100
