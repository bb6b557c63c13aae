"""A fake Reddit API on 127.0.0.1 that the real praw talks to (`oauth_url`/`reddit_url`).

Implemented: the app-only token endpoint (`POST /api/v1/access_token`, client credentials
grant, HTTP Basic auth) and the listings `/r/{subs}/search/`, `/r/{subs}/new/` and
`/r/{subs}/comments/` (newest first, `limit`/`after` paging, `Listing` JSON of `t3`/`t1`
things, `x-ratelimit-*` headers). Search returns every stored post: the source's query is
recorded in `requests` for the tests to check. Failures are scripted with `fail()`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.echo import echo_request

TOKEN = "fake-app-only-token"


def submission(
    id: str,
    created: float,
    title: str,
    selftext: str = "",
    author: str | None = "alice",
    **extra: Any,
) -> dict[str, Any]:
    """A `t3` thing shaped like Reddit's (a subset of its fields)."""
    data = {
        "id": id,
        "name": f"t3_{id}",
        "title": title,
        "selftext": selftext,
        "author": author if author is not None else "[deleted]",
        "author_fullname": f"t2_{author}" if author else None,
        "subreddit": "france",
        "subreddit_name_prefixed": "r/france",
        "created_utc": created,
        "permalink": f"/r/france/comments/{id}/a_title/",
        "url": f"https://www.reddit.com/r/france/comments/{id}/a_title/",
        "score": 12,
        "ups": 12,
        "num_comments": 3,
        "num_crossposts": 1,
        "is_self": bool(selftext),
        "over_18": False,
    }
    data.update(extra)
    return {"kind": "t3", "data": data}


def comment(
    id: str, created: float, body: str, parent: str, author: str | None = "bob", **extra: Any
) -> dict[str, Any]:
    """A `t1` thing shaped like Reddit's `/comments` listing items."""
    data = {
        "id": id,
        "name": f"t1_{id}",
        "body": body,
        "author": author if author is not None else "[deleted]",
        "parent_id": parent,
        "link_id": parent if parent.startswith("t3_") else "t3_post",
        "link_title": "A post",
        "subreddit": "france",
        "created_utc": created,
        "permalink": f"/r/france/comments/post/a_post/{id}/",
        "score": 4,
        "ups": 4,
        "replies": "",
    }
    data.update(extra)
    return {"kind": "t1", "data": data}


class FakeReddit:
    """The server; `posts`/`comments` hold things, `requests` records (path, params)."""

    def __init__(self, client_id: str = "app-id", client_secret: str = "app-secret") -> None:
        self.credentials = f"{client_id}:{client_secret}"
        self.posts: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.failures: list[str] = []
        self.remaining = 99.0
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False

    @property
    def base_url(self) -> str:
        """Where both praw URLs point."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail(self, *kinds: str) -> None:
        """Script the next listing answers: server_error, ratelimited, timeout, malformed,
        echo (a 200 that is not a Listing but the request, headers included)."""
        self.failures.extend(kinds)

    def __enter__(self) -> FakeReddit:
        serve = self._server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def listing(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """The Listing a path answers, newest first, paged by `limit`/`after`."""
        parts = path.strip("/").split("/")
        things = self.comments if parts[-1] == "comments" else self.posts
        subs = parts[1].lower().split("+")
        if subs != ["all"]:
            things = [t for t in things if t["data"]["subreddit"].lower() in subs]
        ordered = sorted(things, key=lambda t: t["data"]["created_utc"], reverse=True)
        start = 0
        if "after" in params:
            names = [t["data"]["name"] for t in ordered]
            start = names.index(params["after"]) + 1 if params["after"] in names else len(names)
        limit = int(params.get("limit", 25))
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        after = page[-1]["data"]["name"] if page and more else None
        data = {"after": after, "before": None, "dist": len(page), "modhash": "", "children": page}
        return {"kind": "Listing", "data": data}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                basic = base64.b64encode(fake.credentials.encode()).decode()
                if urlsplit(self.path).path != "/api/v1/access_token":
                    self.reply(404, b'{"message": "Not Found", "error": 404}', {})
                elif self.headers.get("Authorization") != f"Basic {basic}":
                    self.reply(401, b'{"message": "Unauthorized", "error": 401}', {})
                elif form.get("grant_type") != ["client_credentials"]:
                    self.reply(200, b'{"error": "unsupported_grant_type"}', {})
                else:
                    token = {
                        "access_token": TOKEN,
                        "token_type": "bearer",
                        "expires_in": 86400,
                        "scope": "*",
                    }
                    self.reply(200, json.dumps(token).encode(), {})

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                with fake._lock:
                    fake.requests.append((url.path, params))
                    failure = fake.failures.pop(0) if fake.failures else None
                    fake.remaining = max(0.0, fake.remaining - 1)
                limits = {
                    "x-ratelimit-remaining": f"{fake.remaining:.1f}",
                    "x-ratelimit-used": str(int(100 - fake.remaining)),
                    "x-ratelimit-reset": "42",
                }
                if self.headers.get("Authorization") != f"bearer {TOKEN}":
                    self.reply(401, b'{"message": "Unauthorized", "error": 401}', limits)
                elif failure == "ratelimited":
                    limits["x-ratelimit-remaining"] = "0.0"
                    self.reply(429, b'{"message": "Too Many Requests", "error": 429}', limits)
                elif failure == "server_error":
                    self.reply(500, b"<html><body>500 Internal Server Error</body></html>", {})
                elif failure == "echo":
                    echo = echo_request("GET", self.path, dict(self.headers))
                    self.reply(200, json.dumps({"message": echo}).encode(), limits)
                elif failure == "malformed":
                    self.reply(200, b'{"kind": "Listing", "data": {"children": [', limits)
                else:
                    if failure == "timeout":
                        time.sleep(fake.delay)
                    body = json.dumps(fake.listing(url.path, params)).encode()
                    with contextlib.suppress(OSError):  # the client may have given up
                        self.reply(200, body, limits)

        return Handler
