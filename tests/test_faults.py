"""Operators' faults in one line: a config that is not UTF-8 or says a key twice, a database
that cannot be reached, written or grown, a source that refuses a backfill. Never a
traceback, never a password."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.cli.main import EXIT_CONFIG, EXIT_DATABASE, main
from monitor.service.daemon import JobSpec
from monitor.storage.errors import describe

BRAND = """
brands:
  - id: acme
    name: ACME
    keywords: [acme]
    sources:
      {source}
"""


def _config(tmp_path: Path, database_url: str, source: str = "replay: {path: bundled}") -> Path:
    path = tmp_path / "pulso.yaml"
    body = f'database_url: "{database_url}"\n' + BRAND.format(source=source)
    path.write_text(body, encoding="utf-8")
    return path


def test_a_config_that_is_not_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pulso.yaml"
    path.write_bytes(b"brands:\n  - id: caf\xe9\n")  # Latin-1, as an old editor saves it
    assert main(["check-config", str(path)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err == f"{path}: line 2: not UTF-8 text (byte 0xe9); save it as UTF-8\n"


def test_a_key_given_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, "sqlite:///x.db")
    path.write_text(
        path.read_text() + "detector:\n  alert_budget: 1\n  alert_budget: 2\n", encoding="utf-8"
    )
    assert main(["check-config", str(path)]) == EXIT_CONFIG
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{path}: line ")
    assert "the key 'alert_budget' is given twice (first on line" in line


def test_a_read_only_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ro.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    config = _config(tmp_path, f"sqlite:///file:{db}?mode=ro&uri=true")
    assert main(["run", "--once", "--config", str(config)]) == EXIT_DATABASE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        "pulso run: the database cannot be written: check the file's and its folder's"
        " permissions (attempt to write a readonly database)"
    )


def test_an_unreachable_server_is_one_line_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "postgresql://pulso:s3cr3t-pw@127.0.0.1:9/pulso")
    assert main(["run", "--once", "--config", str(config)]) == EXIT_DATABASE
    err = capsys.readouterr().err
    assert "Traceback" not in err and "s3cr3t-pw" not in err
    assert err.splitlines()[-1].startswith(
        "pulso run: the database server cannot be reached: is it running, and is the URL right?"
    )


def _disk_full(tmp_path: Path) -> OperationalError:
    """The error SQLite raises when it may not grow the file (as on a full disk)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with engine.begin() as db:
        db.execute(text("CREATE TABLE t (x TEXT)"))
    with pytest.raises(OperationalError) as caught, engine.begin() as db:
        db.execute(text("PRAGMA max_page_count = 3"))
        for _ in range(100):
            db.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 4000})
    engine.dispose()
    return caught.value


def test_a_full_disk_is_one_line_and_the_daemon_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    error = _disk_full(tmp_path)
    assert describe(error) == "the disk is full: free some space (database or disk is full)"

    def collect() -> None:
        raise error

    with caplog.at_level(logging.WARNING):
        assert JobSpec("collect:acme:x", 60, collect).run() is False
    (record,) = caplog.records
    assert record.levelname == "ERROR" and record.exc_info is None
    assert record.getMessage() == (
        "job collect:acme:x: the disk is full: free some space (database or disk is full);"
        " it will run again at its next tick"
    )


def test_urls_in_driver_messages_lose_their_password() -> None:
    error = OperationalError(
        "SELECT 1", {}, Exception("could not connect to postgresql://pulso:hunter2@db:5432/p")
    )
    line = describe(error)
    assert line is not None and "hunter2" not in line and "pulso:***@db" in line
    assert describe(ValueError("not a database error")) is None


def test_a_backfill_the_platform_refuses_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(
        tmp_path,
        f"sqlite:///{tmp_path / 'p.db'}",
        source='hackernews: {api_url: "http://127.0.0.1:9/api/v1"}',  # nothing listens there
    )
    since = f"{datetime.now(UTC) - timedelta(days=2):%Y-%m-%d}"
    args = ["backfill", "--config", str(config), "--source", "hackernews", "--since", since]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("pulso backfill: acme/hackernews: ")
    assert "connection failed" in last and last.endswith("are not stored twice)")
