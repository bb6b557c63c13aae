"""The HTTP endpoint: /metrics after a real cycle, /healthz states, and `pulso healthcheck`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from monitor.cli.main import main
from monitor.runtime import Runtime, build_runtime
from monitor.service.daemon import run_once
from monitor.service.healthcheck import healthz_url
from monitor.service.httpd import HttpServer, start_http
from monitor.settings import load_settings
from monitor.storage.engine import session_factory
from monitor.storage.health import record_failure
from monitor.telemetry import REGISTRY
from tests.helpers import quarantine_row, series, write_config, write_jsonl

SERVICE = {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 5}
# The details of /healthz need it (tests/test_http_hardening.py: what strangers see).
TOKEN = "health-token-for-tests-0123456789"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def before() -> dict[str, float]:
    """Counter values before the cycle (counters are process-wide)."""
    return {
        "collected": _value("pulso_mentions_collected_total", brand="acme", source="replay"),
        "batches": _value("pulso_scoring_seconds_count"),
        "ticks": _value("pulso_detector_ticks_total", brand="acme"),
        "delivered": _value("pulso_alert_messages_delivered_total", notifier="console"),
    }


@pytest.fixture
def rt(
    tmp_path: Path, before: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """A runtime on SQLite that has run one full cycle over a replayed spike."""
    monkeypatch.setenv("PULSO_HEALTH_TOKEN", TOKEN)
    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=2))
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db", service=SERVICE)
    runtime = build_runtime(load_settings(config))
    assert run_once(runtime, delivery_wait=0) == 0
    yield runtime
    runtime.close()


@pytest.fixture
def served(rt: Runtime) -> Iterator[tuple[HttpServer, dict[str, bool]]]:
    """The endpoint on a free port; flip `alive["ok"]` to kill the scheduler."""
    alive = {"ok": True}
    server = start_http(rt, lambda: alive["ok"])
    yield server, alive
    server.close()


def get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of a GET with the health token, whatever the status."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text page by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def one(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The value of one sample; KeyError (with what there is) if it is missing."""
    key = (name, frozenset(labels.items()))
    if key not in found:
        raise KeyError(f"{key} not in {sorted(k for k in found if k[0] == name)}")
    return found[key]


def test_metrics_after_one_cycle(
    served: tuple[HttpServer, dict[str, bool]], rt: Runtime, before: dict[str, float]
) -> None:
    server, _ = served
    code, content_type, body = get(server.url + "/metrics")
    assert code == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    found = samples(body)
    collected = one(found, "pulso_mentions_collected_total", brand="acme", source="replay")
    with rt.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM mention_brands").scalar()
    assert collected - before["collected"] == stored > 0
    assert one(found, "pulso_scoring_seconds_count") > before["batches"]
    assert one(found, "pulso_scoring_seconds_bucket", le="+Inf") >= 1
    assert one(found, "pulso_scoring_batch_size_sum") >= stored
    assert sum(v for (n, _), v in found.items() if n == "pulso_mentions_scored_total") >= stored
    assert one(found, "pulso_detector_ticks_total", brand="acme") > before["ticks"]
    fired = sum(
        v
        for (n, labels), v in found.items()
        if n == "pulso_alerts_fired_total" and ("rule", "negative_spike") in labels
    )
    assert fired >= 1
    delivered = one(found, "pulso_alert_messages_delivered_total", notifier="console")
    assert delivered > before["delivered"]
    # Read from the database at scrape time.
    assert one(found, "pulso_outbox_backlog", notifier="console") == 0
    assert one(found, "pulso_outbox_oldest_age_seconds", notifier="console") == 0
    assert one(found, "pulso_source_up", brand="acme", source="replay") == 1
    assert one(found, "pulso_mentions_pending_scoring") == 0
    assert one(found, "pulso_database_up") == 1
    assert not any(n == "pulso_x_read_budget_remaining" for n, _ in found)  # no X source


def test_outbox_backlog_and_source_failure_show_at_scrape(
    served: tuple[HttpServer, dict[str, bool]], rt: Runtime
) -> None:
    server, _ = served
    with rt.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE outbox SET status = 'pending', created_at = datetime('now', '-90 seconds')"
        )
    with rt.sessions.begin() as session:
        record_failure(session, "acme", "replay", rt.clock(), "replay file vanished")
    found = samples(get(server.url + "/metrics")[2])
    queued = one(found, "pulso_outbox_backlog", notifier="console")
    with rt.engine.connect() as connection:
        assert queued == connection.exec_driver_sql("SELECT count(*) FROM outbox").scalar() > 0
    assert 60 < one(found, "pulso_outbox_oldest_age_seconds", notifier="console") < 600
    assert one(found, "pulso_source_up", brand="acme", source="replay") == 0


def test_healthz_is_ok_after_a_good_cycle(served: tuple[HttpServer, dict[str, bool]]) -> None:
    server, _ = served
    code, content_type, body = get(server.url + "/healthz")
    report = json.loads(body)
    assert (code, content_type, report["status"]) == (200, "application/json", "ok"), report
    checks = report["checks"]
    assert checks["scheduler"]["ok"] is True
    assert checks["database"] == {"ok": True, "error": None}
    assert [(s["brand"], s["source"], s["state"]) for s in checks["sources"]] == [
        ("acme", "replay", "ok")
    ]
    assert checks["notifiers"] == [
        {
            "notifier": "console",
            "backlog": 0,
            "oldest_age_seconds": 0.0,
            "last_permanent_error": None,
        }
    ]


def test_a_failing_platform_only_degrades(
    served: tuple[HttpServer, dict[str, bool]], rt: Runtime
) -> None:
    server, _ = served
    with rt.sessions.begin() as session:
        record_failure(session, "acme", "replay", rt.clock(), "HTTP 500 from the platform")
    code, _, body = get(server.url + "/healthz")
    report = json.loads(body)
    assert (code, report["status"]) == (200, "degraded")
    (source,) = report["checks"]["sources"]
    assert (source["state"], source["last_error"]) == ("failing", "HTTP 500 from the platform")


def test_unreachable_database_is_unhealthy(
    served: tuple[HttpServer, dict[str, bool]], rt: Runtime, tmp_path: Path
) -> None:
    server, _ = served
    good_engine, good_sessions = rt.engine, rt.sessions
    broken = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'pulso.db'}")
    rt.engine, rt.sessions = broken, session_factory(broken)
    try:
        code, _, body = get(server.url + "/healthz")
        metrics = samples(get(server.url + "/metrics")[2])
    finally:
        rt.engine, rt.sessions = good_engine, good_sessions
        broken.dispose()
    report = json.loads(body)
    assert (code, report["status"]) == (503, "unhealthy")
    assert report["checks"]["database"]["ok"] is False
    assert "unable to open database file" in report["checks"]["database"]["error"]
    assert one(metrics, "pulso_database_up") == 0
    assert get(server.url + "/healthz")[0] == 200  # and back once it answers again


def test_a_dead_scheduler_is_unhealthy(served: tuple[HttpServer, dict[str, bool]]) -> None:
    server, alive = served
    alive["ok"] = False
    code, _, body = get(server.url + "/healthz")
    report = json.loads(body)
    assert (code, report["status"], report["checks"]["scheduler"]["ok"]) == (
        503,
        "unhealthy",
        False,
    )


def test_other_paths_are_not_found(served: tuple[HttpServer, dict[str, bool]]) -> None:
    server, _ = served
    assert get(server.url + "/")[0] == 404
    assert get(server.url + "/healthz/../admin")[0] == 404


def test_healthcheck_command(
    served: tuple[HttpServer, dict[str, bool]], capsys: pytest.CaptureFixture[str]
) -> None:
    server, alive = served
    url = server.url + "/healthz"
    assert main(["healthcheck", "--url", url, "--timeout", "5"]) == 0
    assert capsys.readouterr().out == f"healthy: {url}: HTTP 200 ok\n"
    alive["ok"] = False
    assert main(["healthcheck", "--url", url]) == 1
    # The probe has the token (PULSO_HEALTH_TOKEN), so it says why.
    expected = f"unhealthy: {url}: HTTP 503 unhealthy (the scheduler is not running)\n"
    assert capsys.readouterr().out == expected
    server.close()
    assert main(["healthcheck", "--url", url, "--timeout", "2"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"unhealthy: {url}: no answer") and out.count("\n") == 1


def test_healthcheck_reads_the_port_from_the_config(
    tmp_path: Path, rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_http(rt, lambda: True)
    try:
        config = write_config(
            tmp_path / "probe.yaml",
            tmp_path / "acme.jsonl",
            tmp_path / "pulso.db",
            service={"host": "0.0.0.0", "port": server.port},
        )
        assert main(["healthcheck", "--config", str(config)]) == 0
    finally:
        server.close()
    assert capsys.readouterr().out.startswith(f"healthy: http://127.0.0.1:{server.port}/healthz")


def test_healthz_url() -> None:
    assert healthz_url("0.0.0.0", 8321) == "http://127.0.0.1:8321/healthz"
    assert healthz_url("::", 8321) == "http://127.0.0.1:8321/healthz"
    assert healthz_url("::1", 9000) == "http://[::1]:9000/healthz"
    assert healthz_url("10.0.0.5", 80) == "http://10.0.0.5:80/healthz"


def test_the_port_can_be_read_back(rt: Runtime) -> None:
    server = start_http(rt, lambda: True)
    try:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
    finally:
        server.close()
    server.close()  # twice is fine


def test_quarantined_mentions_show_in_metrics_and_healthz(
    served: tuple[HttpServer, dict[str, bool]], rt: Runtime
) -> None:
    from datetime import UTC, datetime

    server, _ = served
    assert json.loads(get(server.url + "/healthz")[2])["checks"]["quarantine"] == {"count": 0}
    now = datetime.now(UTC)
    with rt.sessions.begin() as session:
        session.add_all([quarantine_row("1", now), quarantine_row("2", now)])
    assert one(samples(get(server.url + "/metrics")[2]), "pulso_quarantined_mentions") == 2
    code, _, body = get(server.url + "/healthz")
    report = json.loads(body)
    assert (code, report["status"], report["checks"]["quarantine"]) == (
        200,
        "degraded",
        {"count": 2},
    )
    assert "2 mention(s) set aside in the quarantine: see pulso quarantine" in report["problems"]
