"""The daemon's ASGI app: `GET /healthz` (JSON) and `GET /metrics` (Prometheus text).

Plain Starlette routes built in `build_app`, so the planned web console adds its pages
as more routes on the same server. Work that blocks (the database reads behind both
answers) runs on daemon threads, and requests that arrive while it runs share its
result: a burst of probes and scrapes costs one read, and the event loop never waits.

Who sees what: anyone gets `{"status": "ok"|"unhealthy"}` and the status code; the
details (brand ids, sources, upstream errors) need `service.health_token`
(PULSO_HEALTH_TOKEN) as `Authorization: Bearer <token>` or `?token=<token>`. `/metrics`
is open unless `service.metrics_need_token` (its labels name brands and notifiers).
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Callable
from enum import Enum
from typing import Any, Generic, TypeVar

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from monitor.runtime import Runtime
from monitor.service.graceful import DaemonThreads
from monitor.service.health import Alive, LastActivity, health_report, public_body
from monitor.telemetry import REGISTRY

T = TypeVar("T")

JSON_TYPE = "application/json"
NO_STORE = {"Cache-Control": "no-store"}
# Blocking reads at once, per app: the shared runs make more pointless.
READ_THREADS = 4


class Access(Enum):
    """What a request's credentials allow."""

    ANONYMOUS = "anonymous"  # no token given
    GRANTED = "granted"  # the configured token
    REFUSED = "refused"  # a token, but not the configured one (or none is configured)


class Shared(Generic[T]):
    """Calls `fn` on a daemon thread; callers that come while it runs share that run."""

    def __init__(self, fn: Callable[[], T], pool: DaemonThreads) -> None:
        self._fn = fn
        self._pool = pool
        self._running: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        """The result of the run under way, or of a new one."""
        if self._running is None or self._running.done():
            self._running = asyncio.wrap_future(self._pool.submit(self._fn))
        # shield: a client that leaves must not cancel the run the others wait for.
        return await asyncio.shield(self._running)


def json_response(code: int, body: Any) -> Response:
    """`body` as JSON, one line, never cached."""
    return Response(json.dumps(body) + "\n", code, headers=NO_STORE, media_type=JSON_TYPE)


class Endpoint:
    """What the routes answer from: the runtime, the loop's pulse, and the token."""

    def __init__(self, rt: Runtime, alive: Alive, last_activity: LastActivity | None) -> None:
        self.rt = rt
        token = rt.settings.service.health_token
        self._token = token.get_secret_value().encode() if token else None
        pool = DaemonThreads(max_workers=READ_THREADS)
        self._health = Shared(lambda: health_report(rt, alive, last_activity), pool)
        self._metrics = Shared(lambda: generate_latest(REGISTRY), pool)

    def access(self, request: Request) -> Access:
        """Whether `request` carries the health token (header or query)."""
        header = request.headers.get("authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else None
        given = given or request.query_params.get("token")
        if not given:
            return Access.ANONYMOUS
        if self._token is not None and hmac.compare_digest(given.encode(), self._token):
            return Access.GRANTED
        return Access.REFUSED

    async def healthz(self, request: Request) -> Response:
        """Healthy or not for anyone; the details for holders of the token."""
        access = self.access(request)
        if access is Access.REFUSED:
            return _refused()
        code, body = await self._health()
        return json_response(code, body if access is Access.GRANTED else public_body(code))

    async def metrics(self, request: Request) -> Response:
        """Prometheus text; with `metrics_need_token`, only for holders of the token."""
        access = self.access(request)
        guarded = self.rt.settings.service.metrics_need_token and self._token is not None
        if access is Access.REFUSED or (guarded and access is not Access.GRANTED):
            return _refused()
        payload = await self._metrics()
        return Response(payload, headers=NO_STORE, media_type=CONTENT_TYPE_PLAIN_0_0_4)


def _refused() -> Response:
    response = json_response(401, {"error": "wrong or missing token (PULSO_HEALTH_TOKEN)"})
    response.headers["WWW-Authenticate"] = 'Bearer realm="pulso"'
    return response


async def _not_found(_request: Request, _exc: Exception) -> Response:
    return PlainTextResponse("not found: try /healthz or /metrics\n", 404, headers=NO_STORE)


def build_app(rt: Runtime, alive: Alive, last_activity: LastActivity | None = None) -> Starlette:
    """The ASGI app serving `rt`: one route per page."""
    endpoint = Endpoint(rt, alive, last_activity)
    routes = [
        Route("/healthz", endpoint.healthz, methods=["GET"]),
        Route("/metrics", endpoint.metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: _not_found})
