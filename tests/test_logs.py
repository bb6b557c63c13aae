"""Log output: readable lines by default, JSON lines with PULSO_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from monitor.service.logs import setup_logging

logger = logging.getLogger("monitor.test_logs")


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines()]


def test_json_lines_carry_the_fields(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSO_LOG_FORMAT", "json")
    setup_logging("DEBUG")
    logger.info("collected %s/%s: %d new", "acme", "x", 3, extra={"brand": "acme", "new": 3})
    try:
        raise ValueError("bad page\nsecond line")
    except ValueError:
        logger.exception("job %s failed", "collect:acme:x")
    logger.debug("payload", extra={"token": SecretStr("xoxb-not-for-logs"), "ids": [1, 2]})
    err = capsys.readouterr().err
    first, second, third = _lines(err)
    assert {k: first[k] for k in ("level", "logger", "message", "brand", "new")} == {
        "level": "INFO",
        "logger": "monitor.test_logs",
        "message": "collected acme/x: 3 new",
        "brand": "acme",
        "new": 3,
    }
    assert "exception" not in first
    at = datetime.fromisoformat(str(first["time"]))
    assert str(first["time"]).endswith("Z") and at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - at) < timedelta(minutes=1)
    assert second["level"] == "ERROR" and second["message"] == "job collect:acme:x failed"
    exception = str(second["exception"])
    assert exception.startswith("Traceback") and "ValueError: bad page\nsecond line" in exception
    assert third["ids"] == [1, 2] and "token" not in third  # not JSON-ready: left out
    assert "xoxb-not-for-logs" not in err
    assert err.count("\n") == 3  # a multi-line traceback stays inside its one line


def test_text_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO")
    logger.warning("plain %s", "line")
    err = capsys.readouterr().err
    assert err.rstrip().endswith("WARNING monitor.test_logs: plain line")
    with pytest.raises(ValueError):
        json.loads(err)


def test_an_unknown_format_says_so_and_logs_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSO_LOG_FORMAT", "xml")
    setup_logging("INFO")
    logger.info("still here")
    first, second = capsys.readouterr().err.splitlines()
    assert first == "pulso: PULSO_LOG_FORMAT='xml' is not one of text, json; logging as text"
    assert second.endswith("INFO    monitor.test_logs: still here")


def test_the_format_name_is_forgiving(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSO_LOG_FORMAT", " JSON ")
    setup_logging("INFO")
    logger.info("hello")
    assert _lines(capsys.readouterr().err)[0]["message"] == "hello"
