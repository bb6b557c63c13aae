"""The daemon's HTTP endpoint: `GET /healthz` (JSON) and `GET /metrics` (Prometheus text).

A stdlib threaded server on a daemon thread: nothing here may keep a stopping process
alive, and a scrape or a probe never waits for a pipeline job.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.runtime import Runtime
from monitor.service.metrics import DatabaseCollector
from monitor.storage.health import statuses
from monitor.storage.outbox import outbox_backlog
from monitor.telemetry import REGISTRY

logger = logging.getLogger(__name__)

DATABASE_TIMEOUT = 3.0
# Source states that degrade the service without making it unhealthy.
SOURCE_TROUBLE = ("failing", "rate-limited")
JSON_TYPE = "application/json"

Alive = Callable[[], bool]
LastActivity = Callable[[], datetime | None]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def ping_database(engine: Engine, timeout: float = DATABASE_TIMEOUT) -> str | None:
    """None if `SELECT 1` answers within `timeout` seconds, else what went wrong.

    The query runs on its own thread: a database host that drops packets must not hold
    the probe for the driver's connect timeout.
    """
    outcome: list[str | None] = []

    def ping() -> None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            outcome.append(None)
        except Exception as exc:  # any failure is the answer, not a crash of the probe
            cause = getattr(exc, "orig", None) or exc
            outcome.append(f"{type(cause).__name__}: {str(cause).splitlines()[0][:200]}")

    thread = threading.Thread(target=ping, name="pulso-db-ping", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else f"no answer within {timeout:g} s"


def health_report(
    rt: Runtime, alive: Alive, last_activity: LastActivity | None = None
) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of `/healthz`.

    Unhealthy (503) when the scheduler is not running or the database does not answer;
    degraded (still 200) when a platform fails or a notifier refuses alerts.
    """
    try:
        running = bool(alive())
    except Exception:
        logger.exception("healthz: the scheduler check failed")
        running = False
    scheduler = {
        "ok": running,
        "last_activity": _iso(last_activity() if last_activity else None),
    }
    error = ping_database(rt.engine)
    sources: list[dict[str, Any]] = []
    notifiers: list[dict[str, Any]] = []
    if error is None:
        try:
            sources, notifiers = _states(rt)
        except SQLAlchemyError as exc:
            error = f"{type(exc).__name__} while reading the health tables"
    degraded = any(s["state"] in SOURCE_TROUBLE for s in sources) or any(
        n["last_permanent_error"] for n in notifiers
    )
    status = "unhealthy" if not running or error else "degraded" if degraded else "ok"
    body = {
        "status": status,
        "time": _iso(rt.clock()),
        "checks": {
            "scheduler": scheduler,
            "database": {"ok": error is None, "error": error},
            "sources": sources,
            "notifiers": notifiers,
        },
    }
    return (503 if status == "unhealthy" else 200), body


def _states(rt: Runtime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    now = rt.clock()
    with rt.sessions() as session:
        found = statuses(session, list(rt.sources), now)
        backlog = outbox_backlog(session, rt.outbox.notifiers)
    sources = [
        {
            "brand": s.brand,
            "source": s.source,
            "state": s.state,
            "last_success_at": _iso(s.last_success_at),
            "consecutive_failures": s.consecutive_failures,
            "retry_at": _iso(s.retry_at),
            "last_error": (s.last_error or "")[:200] or None,
        }
        for s in found
    ]
    notifiers = []
    for name, rows in backlog.items():
        state = rt.outbox.health.get(name)
        refused = state[len("error: ") :] if state and state.startswith("error: ") else None
        notifiers.append(
            {
                "notifier": name,
                "backlog": rows.count,
                "oldest_age_seconds": round((now - rows.oldest).total_seconds(), 1)
                if rows.oldest
                else 0.0,
                "last_permanent_error": refused,
            }
        )
    return sources, notifiers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    rt: Runtime
    alive: Alive
    last_activity: LastActivity | None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback on stderr, outside the logging setup; socketserver
        # calls this from inside its `except`, so the exception is at hand.
        logger.error("http: error while answering %s", client_address, exc_info=True)  # noqa: LOG014


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "pulso"

    def do_GET(self) -> None:
        """Route `/healthz` and `/metrics`; anything else is 404."""
        path = urlsplit(self.path).path
        if path == "/healthz":
            code, body = health_report(self.server.rt, self.server.alive, self.server.last_activity)
            self._send(code, JSON_TYPE, json.dumps(body).encode() + b"\n")
        elif path == "/metrics":
            self._send(200, CONTENT_TYPE_PLAIN_0_0_4, generate_latest(REGISTRY))
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n")

    def _send(self, code: int, content_type: str, payload: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests go to DEBUG: a probe every few seconds is not news."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("http %s: %s", self.address_string(), format % args)


class HttpServer:
    """A running endpoint (serving from construction): its address, and `close()`."""

    def __init__(self, server: _Server, collector: DatabaseCollector) -> None:
        self._server = server
        self._collector = collector
        self._thread = threading.Thread(target=server.serve_forever, name="pulso-http", daemon=True)
        self._closed = False
        self._thread.start()

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen when asked for port 0)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """A base URL that reaches it from this machine."""
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def close(self) -> None:
        """Stop answering and release the port (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        REGISTRY.unregister(self._collector)


def start_http(rt: Runtime, alive: Alive, last_activity: LastActivity | None = None) -> HttpServer:
    """Serve `/healthz` and `/metrics` for `rt` on `settings.service.host:port`.

    `alive()` says whether the scheduler's loop runs; `last_activity()`, if given, when
    it last started or finished a job. Port 0 binds any free port (see `.port`).
    Raises OSError if the address cannot be bound.
    """
    service = rt.settings.service
    server_class = _Server6 if ":" in service.host else _Server
    server = server_class((service.host, service.port), _Handler)
    server.rt, server.alive, server.last_activity = rt, alive, last_activity
    collector = DatabaseCollector(rt)
    try:
        REGISTRY.register(collector)
    except ValueError:
        server.server_close()
        raise
    handle = HttpServer(server, collector)
    logger.info("serving /healthz and /metrics on %s port %d", handle.host, handle.port)
    return handle
