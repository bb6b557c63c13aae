"""A fake Mastodon instance for tests, driven by the real Mastodon.py client.

Serves ``GET /api/v1/timelines/tag/<tag>`` (newest first; ``max_id``, ``since_id``,
``min_id`` and ``limit`` as documented, with a ``Link`` header) and a minimal
``GET /api/v2/instance``. ``fail(...)`` scripts answers for the next timeline requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.echo import echo_request

JsonDict = dict[str, Any]

_INSTANCE_V1: JsonDict = {
    "uri": "fake.local",
    "title": "Fake",
    "short_description": "",
    "description": "",
    "email": "admin@fake.local",
    "version": "4.5.0",
    "urls": {"streaming_api": "wss://fake.local"},
    "stats": {"user_count": 1, "status_count": 1, "domain_count": 1},
    "languages": ["en"],
    "registrations": False,
    "approval_required": False,
    "invites_enabled": False,
}
_INSTANCE: JsonDict = {
    "domain": "fake.local",
    "title": "Fake",
    "version": "4.5.0",
    "api_versions": {"mastodon": 6},
    "configuration": {
        "statuses": {"max_characters": 500},
        "timelines_access": {
            "live_feeds": {"local": "public", "remote": "public"},
            "hashtag_feeds": {"local": "public", "remote": "public"},
            "trending_link_feeds": {"local": "public", "remote": "public"},
        },
    },
}


def snowflake(created_at: str, sequence: int) -> str:
    """A Mastodon status id: milliseconds since the epoch << 16, plus a sequence number."""
    when = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    return str((int(when.timestamp() * 1000) << 16) + sequence % 65536)


def make_status(
    status_id: int, text: str, tag: str = "paquetto", created_at: str | None = None, **extra: Any
) -> JsonDict:
    """A Status entity shaped like the Mastodon API's (docs.joinmastodon.org/entities/Status)."""
    created = created_at or f"2026-11-29T10:{status_id % 60:02d}:00.000Z"
    status: JsonDict = {
        "id": snowflake(created, status_id),
        "uri": f"https://remote.example/users/ana/statuses/{status_id}",
        "url": f"https://remote.example/@ana/{status_id}",
        "created_at": created,
        "edited_at": None,
        "account": {
            "id": "109",
            "username": "ana",
            "acct": "ana@remote.example",
            "display_name": "Ana 🌵",
            "url": "https://remote.example/@ana",
            "followers_count": 321,
            "following_count": 12,
            "statuses_count": 99,
            "locked": False,
            "bot": False,
            "created_at": "2022-01-01T00:00:00.000Z",
            "note": "",
            "avatar": "https://remote.example/a.png",
            "header": "https://remote.example/h.png",
            "emojis": [],
            "fields": [],
        },
        "content": text,
        "visibility": "public",
        "sensitive": False,
        "spoiler_text": "",
        "language": "es",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "reblog": None,
        "favourites_count": 0,
        "reblogs_count": 0,
        "replies_count": 0,
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": tag, "url": f"https://remote.example/tags/{tag}"}],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    status.update(extra)
    return status


class FakeMastodon:
    """A ThreadingHTTPServer on 127.0.0.1 holding statuses per hashtag."""

    def __init__(self) -> None:
        self.statuses: dict[str, list[JsonDict]] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self._failures: deque[tuple[str, Any]] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The instance's base URL (what Mastodon.py takes as api_base_url)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, *statuses: JsonDict) -> None:
        """Publish statuses under the tags they carry."""
        with self._lock:
            for status in statuses:
                for tag in status["tags"]:
                    self.statuses.setdefault(tag["name"], []).append(status)

    def fail(self, kind: str, value: Any = None, times: int = 1) -> None:
        """Script the next timeline answers: "status" (code), "sleep" (seconds), "garbage",
        "echo" (code: an error that echoes the request, headers included)."""
        self._failures.extend([(kind, value)] * times)

    def timeline_requests(self) -> list[dict[str, list[str]]]:
        """The query parameters of each timeline request so far."""
        return [params for path, params in self.requests if "/timelines/" in path]

    def __enter__(self) -> FakeMastodon:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _search(self, params: dict[str, list[str]]) -> JsonDict:
        """`GET /api/v2/search?type=statuses`: statuses whose text holds `q`."""
        q = params.get("q", [""])[0].strip('"').lower()
        with self._lock:
            every = {s["id"]: s for tagged in self.statuses.values() for s in tagged}
        found = [s for s in every.values() if q and q in str(s.get("content", "")).lower()]
        page, _ = self._timeline("", params, found)
        return {"accounts": [], "statuses": page, "hashtags": []}

    def _timeline(
        self, tag: str, params: dict[str, list[str]], among: list[JsonDict] | None = None
    ) -> tuple[list[JsonDict], str]:
        def arg(name: str) -> int | None:
            return int(params[name][0]) if name in params else None

        limit = min(arg("limit") or 20, 40)
        with self._lock:
            pool = self.statuses.get(tag, []) if among is None else among
            found = sorted(pool, key=lambda s: -int(s["id"]))
        if (max_id := arg("max_id")) is not None:
            found = [s for s in found if int(s["id"]) < max_id]
        if (since_id := arg("since_id")) is not None:
            found = [s for s in found if int(s["id"]) > since_id]
        if (min_id := arg("min_id")) is not None:
            # min_id: the page immediately newer than min_id (still returned newest first).
            found = [s for s in found if int(s["id"]) > min_id][-limit:]
        page = found[:limit]
        link = ""
        if page:
            url = f"{self.base_url}/api/v1/timelines/tag/{tag}?limit={limit}"
            link = (
                f'<{url}&max_id={page[-1]["id"]}>; rel="next", '
                f'<{url}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return page, link

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                parts = parts._replace(path=parts.path.rstrip("/") or "/")  # Rails takes both
                params = parse_qs(parts.query)
                fake.requests.append((parts.path, params))
                if parts.path == "/api/v2/instance":
                    self._send(200, json.dumps(_INSTANCE).encode(), {})
                    return
                if parts.path == "/api/v1/instance":  # what the version check reads
                    self._send(200, json.dumps(_INSTANCE_V1).encode(), {})
                    return
                prefix = "/api/v1/timelines/tag/"
                search = parts.path == "/api/v2/search"
                if not parts.path.startswith(prefix) and not search:
                    self._send(404, b'{"error":"Record not found"}', {})
                    return
                if fake._failures:
                    kind, value = fake._failures.popleft()
                    if kind == "status":
                        headers = {}
                        if value == 429:
                            reset = time.strftime(
                                "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 120)
                            )
                            headers = {
                                "X-RateLimit-Limit": "300",
                                "X-RateLimit-Remaining": "0",
                                "X-RateLimit-Reset": reset,
                            }
                        self._send(value, b'{"error":"Too many requests"}', headers)
                        return
                    if kind == "sleep":
                        threading.Event().wait(value)  # the client has given up by now
                        return
                    if kind == "garbage":
                        self._send(200, b'[{"id": "1", "content": ', {})
                        return
                    if kind == "echo":
                        echo = echo_request("GET", self.path, dict(self.headers))
                        self._send(value, json.dumps({"error": echo}).encode(), {})
                        return
                if search:
                    self._send(200, json.dumps(fake._search(params)).encode(), {})
                    return
                page, link = fake._timeline(parts.path[len(prefix) :], params)
                self._send(200, json.dumps(page).encode(), {"Link": link} if link else {})

        return Handler
