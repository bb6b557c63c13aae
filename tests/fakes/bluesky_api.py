"""A fake Bluesky XRPC service for tests, driven by the real atproto ``Client``.

Serves ``com.atproto.server.createSession`` and ``app.bsky.feed.searchPosts`` (``q`` as
words that must all appear, ``-word`` exclusions, ``since`` inclusive on sortAt, ``lang``,
``sort=latest``, ``limit``, opaque ``cursor``). ``fail(...)`` scripts search answers.
"""

from __future__ import annotations

import base64
import json
import shlex
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.echo import echo_request

JsonDict = dict[str, Any]
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def _jwt(kind: str) -> str:
    def part(data: JsonDict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"scope": kind, "sub": DID, "iat": int(time.time()), "exp": int(time.time()) + 7200}
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


def make_post(
    rkey: str, text: str, at: str, handle: str = "ana.bsky.social", **extra: Any
) -> JsonDict:
    """An app.bsky.feed.defs#postView shaped like the lexicon's."""
    did = "did:plc:" + handle.split(".")[0].ljust(24, "x")
    post: JsonDict = {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": "bafyreib2rxk3rh6kzwq" + rkey.ljust(20, "a"),
        "author": {
            "did": did,
            "handle": handle,
            "displayName": "Ana 🌵",
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/x@jpeg",
            "labels": [],
            "createdAt": "2023-05-01T00:00:00.000Z",
        },
        "record": {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": at,
            "langs": ["es"],
        },
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "quoteCount": 0,
        "indexedAt": at,
        "labels": [],
    }
    post.update(extra)
    return post


class FakeBluesky:
    """A ThreadingHTTPServer on 127.0.0.1 that indexes posts and answers searches."""

    def __init__(self, handle: str = "pulso.bsky.social", password: str = "app-pass") -> None:
        self.handle, self.password = handle, password
        self.posts: list[JsonDict] = []
        self.searches: list[dict[str, list[str]]] = []
        self.sessions = 0
        self._access = _jwt("com.atproto.access")
        self._failures: deque[tuple[str, Any]] = deque()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The service URL (atproto adds /xrpc)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, *posts: JsonDict) -> None:
        """Index posts."""
        self.posts.extend(posts)

    def fail(self, kind: str, value: Any = None, times: int = 1) -> None:
        """Script the next search answers: "status" (code), "sleep" (seconds), "garbage",
        "echo" (code: an error that echoes the request, headers included)."""
        self._failures.extend([(kind, value)] * times)

    def __enter__(self) -> FakeBluesky:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def search(self, params: dict[str, list[str]]) -> JsonDict:
        """The searchPosts answer for these parameters."""
        words = shlex.split(params["q"][0].lower())
        wanted = [w for w in words if not w.startswith("-")]
        unwanted = [w[1:] for w in words if w.startswith("-")]
        since = params.get("since", [""])[0]
        until = params.get("until", ["9999"])[0]
        lang = params.get("lang", [None])[0]

        def sort_at(post: JsonDict) -> str:
            return min(str(post["indexedAt"]), str(post["record"]["createdAt"]))

        hits = [
            p
            for p in self.posts
            if all(w in p["record"]["text"].lower() for w in wanted)
            and not any(w in p["record"]["text"].lower() for w in unwanted)
            and since <= sort_at(p) < until
            and (lang is None or lang in p["record"].get("langs", []))
        ]
        hits.sort(key=sort_at, reverse=True)
        start = int(params.get("cursor", ["0"])[0])
        limit = int(params.get("limit", ["25"])[0])
        page = hits[start : start + limit]
        answer: JsonDict = {"posts": page, "hitsTotal": len(hits)}
        if start + limit < len(hits):
            answer["cursor"] = str(start + limit)
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: JsonDict | bytes, headers: Any = ()) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in dict(headers).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/xrpc/com.atproto.server.createSession":
                    self._send(501, {"error": "MethodNotImplemented"})
                elif (body.get("identifier"), body.get("password")) != (fake.handle, fake.password):
                    self._send(401, {"error": "AuthenticationRequired", "message": "Invalid"})
                else:
                    fake.sessions += 1
                    session = {"accessJwt": fake._access, "refreshJwt": _jwt("refresh")}
                    self._send(200, {**session, "handle": fake.handle, "did": DID, "active": True})

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/xrpc/app.bsky.feed.searchPosts":
                    self._send(501, {"error": "MethodNotImplemented"})
                    return
                if self.headers.get("Authorization") != f"Bearer {fake._access}":
                    self._send(401, {"error": "AuthMissing", "message": "Authentication Required"})
                    return
                params = parse_qs(parts.query)
                fake.searches.append(params)
                if fake._failures:
                    kind, value = fake._failures.popleft()
                    if kind == "sleep":
                        threading.Event().wait(value)  # the client has given up by now
                        return
                    if kind == "garbage":
                        self._send(200, b'{"posts": [{"uri": ')
                        return
                    if kind == "echo":
                        echo = echo_request("GET", self.path, dict(self.headers))
                        self._send(value, {"error": "InvalidRequest", "message": echo})
                        return
                    headers = {}
                    if value == 429:
                        headers = {
                            "ratelimit-limit": "3000",
                            "ratelimit-remaining": "0",
                            "ratelimit-reset": str(int(time.time()) + 90),
                            "ratelimit-policy": "3000;w=300",
                        }
                    error = {
                        "error": "RateLimitExceeded" if value == 429 else "InternalServerError"
                    }
                    self._send(value, error, headers)
                    return
                self._send(200, fake.search(params))

        return Handler
