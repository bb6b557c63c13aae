"""A fake Algolia HN Search API (`/api/v1/search_by_date`) on 127.0.0.1 for httpx.

Usage::

    with FakeHN() as fake:
        fake.add(story(1, 1_700_000_000, "Acme launches"))
        settings = HackerNewsSettings(api_url=fake.base_url)

It filters like the real index, roughly: every word of `query` in the text, `tags` as an
OR group, `numericFilters` on `created_at_i`; newest first; `page`/`hitsPerPage`/`nbPages`.
`fail_next(kind)` scripts failures: ``ratelimited`` (429 + Retry-After), ``server_error``
(500, HTML), ``timeout`` (answers after ``delay`` seconds), ``malformed`` (200, not JSON).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

JsonDict = dict[str, Any]
_FILTER = re.compile(r"^created_at_i(>=|<=|>|<|=)(\d+)$")


class Reply:
    """An HTTP answer: status, body, headers, and how long to wait before sending it."""

    def __init__(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, delay: float = 0
    ) -> None:
        self.status, self.body, self.headers, self.delay = status, body, headers or {}, delay


def failure(kind: str, retry_after: str | None, delay: float) -> Reply | None:
    """The reply for a scripted failure (None for ``timeout``: answer late but normally)."""
    if kind == "ratelimited":
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return Reply(429, b'{"message":"Too many requests"}', headers)
    if kind == "server_error":
        return Reply(500, b"<html><body>Internal Server Error</body></html>")
    if kind == "malformed":
        return Reply(200, b'{"hits": [ {"objectID": ', {"Content-Type": "application/json"})
    if kind == "timeout":
        return None
    raise ValueError(f"unknown failure kind {kind!r}")


class LocalServer:
    """A ThreadingHTTPServer on an ephemeral 127.0.0.1 port that calls `answer` per GET."""

    def __init__(self) -> None:
        self.requests: list[JsonDict] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._failures: deque[tuple[str, str | None, float]] = deque()

    def fail_next(
        self, kind: str, times: int = 1, retry_after: str | None = "7", delay: float = 1.0
    ) -> None:
        """Script the next `times` requests to fail with `kind`."""
        with self.lock:
            self._failures.extend([(kind, retry_after, delay)] * times)

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        """Build the normal reply to a GET (subclasses implement it)."""
        raise NotImplementedError

    def _reply(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        with self.lock:
            self.requests.append({"path": path, "params": params, "headers": headers})
            scripted = self._failures.popleft() if self._failures else None
        if scripted is not None:
            reply = failure(*scripted)
            if reply is not None:
                return reply
        reply = self.answer(path, params, headers)
        reply.delay = scripted[2] if scripted else 0
        return reply

    def start(self) -> LocalServer:
        """Serve in a daemon thread."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(split.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = owner._reply(split.path, params, headers)
                if reply.delay and owner.stopping.wait(reply.delay):
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up first (a scripted timeout)

            def log_message(self, format: str, *args: Any) -> None:
                """No access log."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
        return self

    def stop(self) -> None:
        """Stop serving; handlers waiting on a scripted delay never answer."""
        if self._server is not None:
            self.stopping.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"


def story(object_id: int, created: int, title: str, **fields: Any) -> JsonDict:
    """A story hit shaped like the HN Search API's."""
    hit: JsonDict = {
        "objectID": str(object_id),
        "author": "pg",
        "created_at": "",
        "created_at_i": created,
        "title": title,
        "url": f"https://example.com/{object_id}",
        "story_text": None,
        "comment_text": None,
        "points": 12,
        "num_comments": 3,
        "story_id": None,
        "parent_id": None,
        "_tags": ["story", "author_pg", f"story_{object_id}"],
    }
    hit.update(fields)
    return hit


def comment(object_id: int, created: int, html: str, story_id: int, **fields: Any) -> JsonDict:
    """A comment hit shaped like the HN Search API's (points and counts are null)."""
    hit: JsonDict = {
        "objectID": str(object_id),
        "author": "dang",
        "created_at": "",
        "created_at_i": created,
        "comment_text": html,
        "story_id": story_id,
        "story_title": "A story",
        "story_url": None,
        "parent_id": story_id,
        "points": None,
        "num_comments": None,
        "_tags": ["comment", "author_dang", f"story_{story_id}"],
    }
    hit.update(fields)
    return hit


class FakeHN(LocalServer):
    """The fake HN Search API; `hits` can be added while it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[JsonDict] = []

    def __enter__(self) -> FakeHN:
        self.start()
        return self

    @property
    def base_url(self) -> str:
        """Value for the `api_url` setting."""
        return f"{self.origin}/api/v1"

    def add(self, *hits: JsonDict) -> None:
        """Index more hits."""
        with self.lock:
            self.hits.extend(hits)

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        """Search `hits` the way `search_by_date` does."""
        if path != "/api/v1/search_by_date":
            return Reply(404, b'{"message":"Not Found","status":404}')
        with self.lock:
            found = [h for h in self.hits if _matches(h, params)]
        found.sort(key=lambda h: (h["created_at_i"], int(h["objectID"])), reverse=True)
        per_page = int(params.get("hitsPerPage", 20))
        page = int(params.get("page", 0))
        payload = {
            "hits": found[page * per_page : (page + 1) * per_page],
            "nbHits": len(found),
            "page": page,
            "nbPages": -(-len(found) // per_page),
            "hitsPerPage": per_page,
            "exhaustiveNbHits": True,
            "query": params.get("query", ""),
            "params": "",
            "processingTimeMS": 1,
        }
        body = json.dumps(payload).encode()
        return Reply(200, body, {"Content-Type": "application/json; charset=utf-8"})


def _matches(hit: JsonDict, params: dict[str, str]) -> bool:
    text = " ".join(str(hit.get(k) or "") for k in ("title", "story_text", "comment_text"))
    words = params.get("query", "").replace('"', " ").lower().split()
    if not all(word in text.lower() for word in words):
        return False
    tags = params.get("tags", "").strip("()").split(",")
    if tags != [""] and not set(tags) & set(hit["_tags"]):
        return False
    for condition in filter(None, params.get("numericFilters", "").split(",")):
        match = _FILTER.match(condition)
        if match is None:
            raise ValueError(f"unsupported numeric filter {condition!r}")
        op, value = match.group(1), int(match.group(2))
        created = cast(int, hit["created_at_i"])
        checks = {">=": created >= value, "<=": created <= value, ">": created > value}
        checks.update({"<": created < value, "=": created == value})
        if not checks[op]:
            return False
    return True
