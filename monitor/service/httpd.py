"""The daemon's HTTP server: uvicorn serving `monitor.service.web`'s app on its own thread.

The thread has its own event loop, so `pulso run` (a blocking scheduler) and `pulso
worker` (procrastinate's loop) host it alike, and nothing here may keep a stopping
process alive: the thread is a daemon and `close()` waits a second at most. The socket
is bound before the thread starts, so a port in use fails `start_http` at once.

A client has `service.client_timeout_seconds` to send a whole request (a stalled one is
cut off, it does not hold a slot), and one that leaves before its answer is not news:
uvicorn drops the answer quietly.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import h11
from uvicorn import Config, Server
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor.runtime import Runtime
from monitor.service.health import Alive, LastActivity
from monitor.service.metrics import DatabaseCollector
from monitor.service.web import build_app
from monitor.telemetry import REGISTRY

logger = logging.getLogger(__name__)

BACKLOG = 2048
KEEP_ALIVE_SECONDS = 5
# close(): in-flight answers get this long, then the loop is stopped regardless.
CLOSE_GRACE = 1.0


class _StallGuard(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on each request: a client that has not
    sent the whole of it `request_timeout` seconds after connecting (or after its last
    answer) is disconnected. Without it, a client that sends half a request holds its
    connection until the server stops."""

    request_timeout = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request."""
        super().connection_made(transport)
        self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def on_response_complete(self) -> None:
        """Start the clock again for the next request on this connection."""
        super().on_response_complete()
        self._deadline.cancel()
        self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._deadline.cancel()
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and not self.cycle.response_complete
        if self.conn.their_state is h11.DONE and answering:
            return  # the request is all in; the answer is on its way
        logger.debug("http: closing a connection from %s: no whole request in time", self.client)
        self.transport.close()


def _protocol(request_timeout: float) -> type[H11Protocol]:
    return type("StallGuard", (_StallGuard,), {"request_timeout": request_timeout})


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=BACKLOG)


class HttpServer:
    """A running endpoint (serving from construction): its address, and `close()`."""

    def __init__(self, server: Server, sock: socket.socket, collector: DatabaseCollector) -> None:
        self._server = server
        self._sock = sock
        self._address = sock.getsockname()
        self._collector = collector
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="pulso-http", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except Exception:  # the endpoint is not worth the process: say so and go on
            logger.exception("http: the server stopped; /healthz and /metrics are gone")

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self._address[0])

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen when asked for port 0)."""
        return int(self._address[1])

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
        self._server.should_exit = True
        self._thread.join(CLOSE_GRACE)
        if self._thread.is_alive():  # an answer still being read from the database
            self._server.force_exit = True
            self._thread.join(CLOSE_GRACE)
        self._sock.close()
        REGISTRY.unregister(self._collector)


def start_http(rt: Runtime, alive: Alive, last_activity: LastActivity | None = None) -> HttpServer:
    """Serve `/healthz` and `/metrics` for `rt` on `settings.service.host:port`.

    `alive()` says whether the scheduler's loop runs; `last_activity()`, if given, when
    it last started or finished a job. Port 0 binds any free port (see `.port`).
    Raises OSError if the address cannot be bound.
    """
    service = rt.settings.service
    sock = _bind(service.host, service.port)
    collector = DatabaseCollector(rt)
    try:
        REGISTRY.register(collector)
    except ValueError:
        sock.close()
        raise
    config = Config(
        build_app(rt, alive, last_activity),
        http=_protocol(service.client_timeout_seconds),
        loop="asyncio",
        ws="none",
        lifespan="off",
        interface="asgi3",
        log_config=None,  # Pulso's logging stays as set up
        log_level=logging.WARNING,  # not uvicorn's start and stop lines
        access_log=False,  # a probe every few seconds is not news
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        backlog=BACKLOG,
    )
    handle = HttpServer(Server(config), sock, collector)
    logger.info("serving /healthz and /metrics on %s port %d", handle.host, handle.port)
    return handle
