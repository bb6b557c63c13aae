"""The SQLite database is private: created 0600 in a folder created 0700, and an existing
file that everyone may read is named in one warning at start."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.storage.engine import make_engine, migrate


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> object:
    """The umask most systems give a service (022): files 0644 unless asked otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_database_and_its_folders_are_private(tmp_path: Path) -> None:
    (tmp_path / "ours").mkdir(mode=0o755)
    database = tmp_path / "ours" / "made" / "by" / "pulso" / "pulso.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        migrate(engine)  # WAL: the -wal and -shm files come with the first write
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            connection.execute(text("INSERT INTO probe VALUES (1)"))
        assert mode(database) == 0o600
        companions = sorted(database.parent.glob("pulso.db-*"))
        assert [c.name for c in companions] == ["pulso.db-shm", "pulso.db-wal"]
        for companion in companions:
            assert mode(companion) == 0o600, companion
        for folder in (database.parent.parent.parent, database.parent.parent, database.parent):
            assert mode(folder) == 0o700, folder
    finally:
        engine.dispose()
    assert mode(tmp_path / "ours") == 0o755  # a folder Pulso did not create is left alone


def test_an_existing_world_readable_database_gets_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "pulso.db"
    database.touch()
    database.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="monitor.storage.engine"):
        engine = make_engine(f"sqlite:///{database}")
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(database) in warnings[0] and "chmod 600" in warnings[0]
    assert mode(database) == 0o644  # left as it is: the owner decides


def test_a_private_existing_database_raises_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "pulso.db"
    database.touch()
    database.chmod(0o640)  # shared with a group on purpose: not everyone
    with caplog.at_level(logging.WARNING, logger="monitor.storage.engine"):
        make_engine(f"sqlite:///{database}").dispose()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert mode(database) == 0o640


def test_memory_and_server_databases_are_not_touched(tmp_path: Path) -> None:
    engine = make_engine("sqlite:///:memory:")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    assert list(tmp_path.iterdir()) == []
