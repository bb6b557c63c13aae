"""Migrations run forward over a database holding data, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from monitor.storage.engine import MIGRATIONS, make_engine, migrate
from monitor.storage.schema import Base
from tests.helpers import throwaway_postgres


def _upgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield made
        made.dispose()
        return
    with throwaway_postgres() as url:
        made = make_engine(url)
        yield made
        made.dispose()


def test_a_database_of_the_previous_release_upgrades_with_its_data(engine: Engine) -> None:
    _upgrade(engine, "0005")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO mentions (source, external_id, text, created_at, collected_at,"
                " likes, reposts, replies, is_repost, is_quote, sentiment_label,"
                " sentiment_score, sentiment_confidence, sentiment_engine)"
                " VALUES ('x', '1', 'ACME lost my parcel', '2026-11-20 10:00:00',"
                " '2026-11-20 10:01:00', 0, 0, 0, false, false, 'negative', -0.8, 0.9, 'vader')"
            )
        )
    migrate(engine)  # what every start does: forward to the newest
    with engine.connect() as connection:
        scored_at = connection.execute(text("SELECT scored_at FROM mentions")).scalar_one()
        assert str(scored_at).startswith("2026-11-20 10:01:00")
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    migrate(engine)  # and again: nothing to do, nothing breaks


def test_incidents_of_0006_upgrade_as_live_ones(engine: Engine) -> None:
    _upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO alerts (brand, rule, status, severity, started_at, last_firing_at,"
                " peak_negative, details) VALUES ('acme', 'negative_spike', 'firing', 'warning',"
                " '2026-11-20 10:00:00', '2026-11-20 10:05:00', 12, '{}')"
            )
        )
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT historical FROM alerts")).scalar_one() in (False, 0)
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_0008_adds_an_empty_quarantine_that_takes_any_payload(engine: Engine) -> None:
    _upgrade(engine, "0007")
    with engine.connect() as connection:
        assert "quarantine" not in inspect(connection).get_table_names()
    migrate(engine)
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM quarantine")).scalar_one() == 0
        connection.execute(
            text(
                "INSERT INTO quarantine (brand, source, external_id, payload, stage, error,"
                " first_seen_at, last_seen_at, attempts) VALUES ('acme', 'x', NULL,"
                " :payload, 'store', 'DataError: integer out of range',"
                " '2026-12-10 10:00:00', '2026-12-10 10:00:00', 1)"
            ),
            {"payload": '{"text": "a\\u0000b \\ud83d", "likes": 1180591620717411303424}'},
        )
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
