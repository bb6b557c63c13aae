"""`pulso run` never runs twice over one database, nor beside the scaled mode's workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.cli.main import main
from monitor.service.singleton import sole_scheduler
from monitor.service.worker import ensure_queue_schema
from monitor.storage.engine import make_engine, migrate
from tests.helpers import series, write_config, write_jsonl


def _config(tmp_path: Path, **extra: object) -> Path:
    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=1))
    return write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db", **extra)


def test_a_second_run_on_one_sqlite_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'pulso.db'}")
    with sole_scheduler(engine):  # as a running `pulso run` holds it
        assert main(["run", "--config", str(config), "--once"]) == 2
    assert "another `pulso run` already uses" in capsys.readouterr().err
    assert main(["run", "--config", str(config), "--once"]) == 0  # free again
    engine.dispose()


def test_run_and_workers_exclude_each_other_on_postgres(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, database_url=postgres_url, sentiment={"engine": "vader"})
    engine = make_engine(postgres_url)
    migrate(engine)
    with sole_scheduler(engine):
        assert main(["run", "--config", str(config), "--once"]) == 2
        assert "another `pulso run` already uses this database" in capsys.readouterr().err
        assert main(["worker", "--config", str(config)]) == 2
        assert "a `pulso run` process uses this database" in capsys.readouterr().err
    # A worker with a fresh heartbeat keeps `pulso run` out too.
    ensure_queue_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
    assert main(["run", "--config", str(config), "--once"]) == 2
    assert "`pulso worker` processes use this database" in capsys.readouterr().err
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM procrastinate_workers"))
    assert main(["run", "--config", str(config), "--once"]) == 0
    engine.dispose()
