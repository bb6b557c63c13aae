"""The HTTP endpoint under load and abuse: many clients, clients that vanish or stall,
who may read the details of /healthz, and when `pulso healthcheck` says unhealthy."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.cli.main import main
from monitor.runtime import Runtime, build_runtime
from monitor.service.httpd import HttpServer, start_http
from monitor.settings import ServiceSettings, load_settings
from monitor.storage.health import record_failure, record_success
from monitor.storage.schema import OutboxRow
from tests.helpers import series, write_config, write_jsonl

TOKEN = "health-token-for-tests-0123456789"
ERROR_TEXT = "HTTP 500 from upstream: body echoed Authorization"


def make_runtime(tmp_path: Path, **service: Any) -> Runtime:
    """A runtime on a fresh SQLite database; the service section is `service`."""
    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=1))
    settings = {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 5, **service}
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db", service=settings)
    return build_runtime(load_settings(config))


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A runtime whose /healthz details need TOKEN; slow clients get 1 s."""
    monkeypatch.setenv("PULSO_HEALTH_TOKEN", TOKEN)
    runtime = make_runtime(tmp_path, client_timeout_seconds=1)
    with runtime.sessions.begin() as session:
        record_success(session, "acme", "replay", runtime.clock())
    yield runtime
    runtime.close()


@pytest.fixture
def server(rt: Runtime) -> Iterator[HttpServer]:
    """The endpoint on a free port."""
    handle = start_http(rt, lambda: True)
    yield handle
    handle.close()


def get(url: str, token: str | None = None, timeout: float = 10) -> tuple[int, str]:
    """Status and body of a GET, whatever the status; with a bearer token if given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def fail_source(rt: Runtime, since: timedelta, error: str = ERROR_TEXT) -> None:
    """Record that acme/replay has been failing for `since`."""
    with rt.sessions.begin() as session:
        record_success(session, "acme", "replay", rt.clock() - since)
        record_failure(session, "acme", "replay", rt.clock() - since, error)
        record_failure(session, "acme", "replay", rt.clock(), error)


# --- load and abuse --------------------------------------------------------------------


def test_200_concurrent_clients_are_each_answered_within_2_seconds(server: HttpServer) -> None:
    clients = 200
    start = threading.Barrier(clients)
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        path = "/metrics" if number % 4 == 0 else "/healthz"
        start.wait()
        began = time.monotonic()
        try:
            code, _ = get(server.url + path, timeout=15)
        except OSError:
            code = 0
        with lock:
            results.append((code, time.monotonic() - began))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == clients
    failed = [code for code, _ in results if code != 200]
    assert not failed, f"{len(failed)} of {clients} failed: {sorted(set(failed))}"
    slowest = max(seconds for _, seconds in results)
    assert slowest < 2.0, f"slowest answer took {slowest:.2f} s"


def _vanish(url: str, request: bytes) -> None:
    """Send `request` and close at once with a reset, before the answer is read."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(request)
    sock.close()


def test_a_client_that_goes_away_logs_no_error(
    server: HttpServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    for path in ("/healthz", "/metrics") * 10:
        _vanish(server.url, f"GET {path} HTTP/1.1\r\nHost: pulso\r\n\r\n".encode())
    _vanish(server.url, b"GET /healthz HTTP/1.1\r\nHost: pu")  # halfway through the headers
    time.sleep(1.0)  # let the server try to answer the clients that left
    assert get(server.url + "/healthz")[0] == 200  # and it still serves
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]
    assert "Traceback" not in capfd.readouterr().err


def test_a_client_that_stalls_is_cut_off_and_others_are_served(server: HttpServer) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    stalled = socket.create_connection((host, int(port)), timeout=10)
    try:
        stalled.sendall(b"GET /healthz HTTP/1.1\r\n")  # and never the rest
        assert get(server.url + "/healthz", timeout=2)[0] == 200
        began = time.monotonic()
        try:
            rest = stalled.recv(4096)
        except ConnectionResetError:
            rest = b""
        waited = time.monotonic() - began
    finally:
        stalled.close()
    assert rest == b"" or rest.startswith(b"HTTP/1.1 408"), rest
    assert waited < 5, f"the stalled client was held {waited:.1f} s (timeout: 1 s)"


# --- where it listens ------------------------------------------------------------------


def test_it_listens_on_loopback_unless_told_otherwise(tmp_path: Path) -> None:
    assert ServiceSettings().host == "127.0.0.1"
    config = write_config(tmp_path / "pulso.yaml", tmp_path / "a.jsonl", tmp_path / "pulso.db")
    assert load_settings(config, environ={}).service.host == "127.0.0.1"
    container = {"PULSO_SERVICE_HOST": "0.0.0.0"}
    assert load_settings(config, environ=container).service.host == "0.0.0.0"


def test_the_default_server_binds_loopback_only(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, host=ServiceSettings().host)
    handle = start_http(runtime, lambda: True)
    try:
        assert handle.host == "127.0.0.1"
        assert get(handle.url + "/healthz")[0] == 200
    finally:
        handle.close()
        runtime.close()


# --- who sees what ---------------------------------------------------------------------


def test_healthz_tells_strangers_only_whether_it_is_healthy(
    server: HttpServer, rt: Runtime
) -> None:
    fail_source(rt, timedelta(minutes=5))  # degraded: a detail strangers must not see
    code, body = get(server.url + "/healthz")
    assert (code, json.loads(body)) == (200, {"status": "ok"})
    assert "acme" not in body and "500" not in body


def test_healthz_details_need_the_token(server: HttpServer, rt: Runtime) -> None:
    fail_source(rt, timedelta(minutes=5))
    code, body = get(server.url + "/healthz", token=TOKEN)
    report = json.loads(body)
    assert (code, report["status"]) == (200, "degraded")
    (source,) = report["checks"]["sources"]
    assert (source["brand"], source["last_error"]) == ("acme", ERROR_TEXT)
    by_query = json.loads(get(server.url + f"/healthz?token={TOKEN}")[1])
    assert by_query["checks"]["sources"] == report["checks"]["sources"]
    code, body = get(server.url + "/healthz", token="wrong-token")
    assert code == 401 and "acme" not in body


def test_without_a_configured_token_nobody_gets_details(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path)
    handle = start_http(runtime, lambda: True)
    try:
        code, body = get(handle.url + "/healthz", token="anything")
        assert code == 401 and "acme" not in body
        assert json.loads(get(handle.url + "/healthz")[1]) == {"status": "ok"}
    finally:
        handle.close()
        runtime.close()


def test_metrics_can_be_kept_for_token_holders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSO_HEALTH_TOKEN", TOKEN)
    runtime = make_runtime(tmp_path, metrics_need_token=True)
    handle = start_http(runtime, lambda: True)
    try:
        assert get(handle.url + "/metrics")[0] == 401
        code, body = get(handle.url + "/metrics", token=TOKEN)
        assert code == 200 and "pulso_database_up 1.0" in body
    finally:
        handle.close()
        runtime.close()


# --- when it is unhealthy --------------------------------------------------------------


def probe(server: HttpServer, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`pulso healthcheck` against `server`: its exit code and its one line."""
    code = main(["healthcheck", "--url", server.url + "/healthz", "--timeout", "5"])
    return code, capsys.readouterr().out


def test_every_source_failing_for_the_set_time_is_unhealthy(
    server: HttpServer, rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_source(rt, timedelta(minutes=29))
    assert probe(server, capsys)[0] == 0  # degraded only: not yet 30 minutes
    fail_source(rt, timedelta(minutes=31))
    assert get(server.url + "/healthz") == (503, '{"status": "unhealthy"}\n')
    code, line = probe(server, capsys)
    assert code == 1 and line.startswith("unhealthy:"), line
    assert "HTTP 503 unhealthy" in line


def test_the_probe_says_why_when_it_has_the_token(
    server: HttpServer,
    rt: Runtime,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PULSO_HEALTH_TOKEN", TOKEN)
    fail_source(rt, timedelta(hours=2))
    code, line = probe(server, capsys)
    assert code == 1 and "every source has failed for 30 min or more" in line, line
    assert line.count("\n") == 1


def test_an_undelivered_alert_older_than_the_set_age_is_unhealthy(
    server: HttpServer, rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    created = rt.clock() - timedelta(minutes=61)
    with rt.sessions.begin() as session:
        session.add(
            OutboxRow(
                idempotency_key="late-alert",
                notifier="console",
                event="opened",
                payload={},
                status="pending",
                attempts=3,
                created_at=created,
                next_attempt_at=rt.clock(),
            )
        )
    code, body = get(server.url + "/healthz", token=TOKEN)
    report = json.loads(body)
    assert (code, report["status"]) == (503, "unhealthy"), report
    assert any("console" in problem for problem in report["problems"]), report
    assert probe(server, capsys)[0] == 1


def test_a_notifier_refusing_alerts_is_unhealthy(
    server: HttpServer, rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    rt.outbox.health["console"] = "error: invalid_auth"  # as a PermanentError leaves it
    code, body = get(server.url + "/healthz", token=TOKEN)
    report = json.loads(body)
    assert (code, report["status"]) == (503, "unhealthy")
    assert report["checks"]["notifiers"][0]["last_permanent_error"] == "invalid_auth"
    assert probe(server, capsys)[0] == 1
    rt.outbox.health["console"] = "ok"  # delivered again
    assert probe(server, capsys)[0] == 0
