"""A fake X API v2 recent search on 127.0.0.1, for the real tweepy client.

Only ``GET /2/tweets/search/recent``: posts newest first, ``since_id``/``start_time``,
``max_results`` (10..100), ``next_token`` paging, ``includes.users`` for ``author_id``
and ``meta`` as X documents them; a missing author gives a partial ``errors`` entry.
``fail_next`` scripts the next answers: an HTTP status, a slow answer, broken JSON, or an
error that echoes the request, headers included ("echo").
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.echo import echo_request

JsonDict = dict[str, Any]
ROUTE = "/2/tweets/search/recent"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        params = {key: values[-1] for key, values in parse_qs(url.query).items()}
        status, body, headers = fake.answer(url.path, params, dict(self.headers), self.path)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have timed out and left
            self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeX) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class FakeX:
    """Serves `tweets` (v2 tweet objects) and `users` (v2 user objects, by id)."""

    def __init__(self, token: str = "x-test-bearer") -> None:
        self.token = token
        self.tweets: list[JsonDict] = []
        self.users: dict[str, JsonDict] = {}
        self.requests: list[dict[str, str]] = []
        self._script: deque[tuple[str, Any, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FakeX:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        """Where the fake listens (for PULSO_X_API_URL)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, tweet: JsonDict, user: JsonDict | None = None) -> None:
        """Publish a post (and its author)."""
        with self._lock:
            self.tweets.append(tweet)
            if user is not None:
                self.users[user["id"]] = user

    def fail_next(
        self, kind: str, value: Any = None, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Script the next answers: ("status", code), ("sleep", seconds), ("raw", bytes) or
        ("echo", code): an error whose detail is the request, headers included."""
        for _ in range(times):
            self._script.append((kind, value, headers or {}))

    def answer(
        self, path: str, params: dict[str, str], headers: dict[str, str], target: str = ""
    ) -> tuple[int, JsonDict | bytes, dict[str, str]]:
        """The status, body and headers for one request."""
        with self._lock:
            self.requests.append(params)
            step = self._script.popleft() if self._script else None
        if step is not None:
            kind, value, extra = step
            if kind == "status":
                return value, _problem(value, "scripted failure"), extra
            if kind == "raw":
                return 200, value, extra
            if kind == "echo":
                return value, _problem(value, echo_request("GET", target, headers)), extra
            threading.Event().wait(value)  # "sleep": answer late (time.sleep may be patched)
        if path != ROUTE:
            return 404, _problem(404, "no such route"), {}
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, _problem(401, "Unauthorized"), {}
        size = int(params.get("max_results", 10))
        if not 10 <= size <= 100:
            return 400, _problem(400, "max_results must be between 10 and 100"), {}
        with self._lock:
            return 200, self._search(params, size), _limits()

    def _search(self, params: dict[str, str], size: int) -> JsonDict:
        since = int(params.get("since_id", 0))
        until = int(params["next_token"], 16) if "next_token" in params else None
        start = params.get("start_time")
        found = sorted(
            (
                t
                for t in self.tweets
                if int(t["id"]) > since
                and (until is None or int(t["id"]) < until)
                and (start is None or t["created_at"] >= start.replace("Z", ".000Z"))
            ),
            key=lambda t: int(t["id"]),
            reverse=True,
        )
        page, rest = found[:size], found[size:]
        if not page:
            return {"meta": {"result_count": 0}}
        author_ids = {t["author_id"] for t in page if "author_id" in t}
        body: JsonDict = {
            "data": page,
            "includes": {"users": [self.users[a] for a in author_ids if a in self.users]},
            "meta": {
                "newest_id": page[0]["id"],
                "oldest_id": page[-1]["id"],
                "result_count": len(page),
            },
        }
        if rest:
            body["meta"]["next_token"] = format(int(page[-1]["id"]), "x")
        missing = sorted(a for a in author_ids if a not in self.users)
        if missing:
            body["errors"] = [_missing_user(a) for a in missing]
        return body


def _problem(status: int, detail: str) -> JsonDict:
    return {"title": "Error", "detail": detail, "type": "about:blank", "status": status}


def _missing_user(user_id: str) -> JsonDict:
    return {
        "value": user_id,
        "detail": f"Could not find user with author_id: [{user_id}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": "author_id",
        "resource_id": user_id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def _limits() -> dict[str, str]:
    reset = str(int(time.time()) + 900)
    return {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "449",
        "x-rate-limit-reset": reset,
    }
