"""A fake Slack Web API HTTP server for tests, driven by the real slack-sdk ``WebClient``.

Usage::

    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.base_url, timeout=1)
        client.chat_postMessage(channel="C0PULSO", text="hi")
        assert fake.messages[0]["text"] == "hi"

Implemented: ``chat.postMessage``, ``chat.update`` (both keep message ``metadata``),
``conversations.history`` and ``conversations.replies`` (newest-first / thread order,
``oldest``/``latest``/``inclusive`` ranges, cursor pagination, metadata only with
``include_all_metadata``), ``conversations.list`` and ``auth.test``. Every other method
answers HTTP 404 ``{"ok": false, "error": "unknown_method"}``. Message ``ts`` values
follow ``clock`` (default: the wall clock), strictly increasing. As Slack does, every
call with a valid token answers with the token's scopes in the ``x-oauth-scopes``
header (``scopes``, comma-separated; set it to ``None`` to leave the header out).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, cast
from urllib.parse import parse_qs, urlsplit

__all__ = ["BOT_SCOPES", "FAILURE_KINDS", "FAKE_BOT_ID", "FakeSlack"]

FAKE_BOT_ID: Final = "B0FAKE"
FAKE_TEAM_ID: Final = "T0FAKE"
FAKE_USER_ID: Final = "U0FAKE"
FAILURE_KINDS: Final = frozenset(
    {"ratelimited", "server_error", "invalid_auth", "channel_not_found", "missing_scope", "timeout"}
)

# What Pulso's bot is granted in a good setup: post, read history, look channels up.
BOT_SCOPES: Final = (
    "chat:write",
    "channels:history",
    "channels:read",
    "groups:history",
    "groups:read",
)

_API_PREFIX: Final = "/api/"
_TS_STEP_MICROS: Final = 100
_METHODS: Final = frozenset(
    {
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "conversations.history",
        "conversations.replies",
        "conversations.list",
    }
)
_TRUE: Final = frozenset({"1", "true", "True", True})
_SERVER_ERROR_HTML: Final = (
    "<html><head><title>500 Internal Server Error</title></head>"
    "<body><h1>Internal Server Error</h1></body></html>"
)

JsonDict = dict[str, Any]


class _Failure:
    """One scripted failure waiting in a per-method queue."""

    __slots__ = ("kind", "retry_after")

    def __init__(self, kind: str, retry_after: int) -> None:
        self.kind = kind
        self.retry_after = retry_after


class _Reply:
    """An HTTP answer the handler is about to send."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}

    @classmethod
    def json(cls, payload: JsonDict, status: int = 200) -> _Reply:
        """Build a JSON reply."""
        return cls(status, json.dumps(payload).encode("utf-8"))


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its FakeSlack and never prints handler errors."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Swallow errors such as a client that hung up during a scripted timeout."""


class _Handler(BaseHTTPRequestHandler):
    """Request handler delegating every request to FakeSlack."""

    server_version = "FakeSlack/1.0"

    def do_POST(self) -> None:
        """Handle a Web API call sent as POST (what slack-sdk always does)."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        self._dispatch(raw, self.headers.get("Content-Type") or "")

    def do_GET(self) -> None:
        """Handle a Web API call sent as GET with a query string."""
        query = urlsplit(self.path).query
        self._dispatch(query.encode("utf-8"), "application/x-www-form-urlencoded")

    def _dispatch(self, raw: bytes, content_type: str) -> None:
        fake = cast(_Server, self.server).fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply, delay = fake._handle(urlsplit(self.path).path, headers, raw, content_type)
        if delay > 0 and fake._stopping.wait(delay):
            return  # the fake is being stopped: never answer
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            pass  # client went away (e.g. it timed out first)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: no access log on stderr."""


class FakeSlack:
    """In-process fake of the Slack Web API on 127.0.0.1 for the real slack-sdk WebClient.

    ``calls`` and ``messages`` return deep-copied snapshots; header names in them are
    lower-cased (e.g. ``call["headers"]["authorization"]``).
    """

    def __init__(
        self,
        token: str = "xoxb-test-token",
        channels: Iterable[str] = ("C0PULSO", "#alerts"),
        clock: Callable[[], float] = time.time,
        scopes: Iterable[str] | None = BOT_SCOPES,
    ) -> None:
        self.token = token
        self.clock = clock
        self.scopes: tuple[str, ...] | None = None if scopes is None else tuple(scopes)
        self.timeout_sleep: float = 3.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._calls: list[JsonDict] = []
        self._messages: list[JsonDict] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._last_ts_micros = 0
        self._channel_ids: dict[str, str] = {}
        self._channel_names: dict[str, str] = {}
        for index, channel in enumerate(channels):
            self.add_channel(channel, index=index)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        """Bind to an ephemeral 127.0.0.1 port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already running")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeSlack:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes handlers sleeping on a scripted timeout (they never answer)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """TCP port the fake listens on (only while running)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Value for ``WebClient(base_url=...)``; keeps the trailing slash slack-sdk needs."""
        return f"http://127.0.0.1:{self.port}{_API_PREFIX}"

    # ------------------------------------------------------------ configuration

    def add_channel(self, channel: str, index: int | None = None) -> str:
        """Make a channel known (an id like ``C0PULSO`` or a ``#name``); return its id."""
        with self._lock:
            if channel in self._channel_ids:
                return self._channel_ids[channel]
            name = channel.lstrip("#")
            if channel.startswith("#") or name[:1] not in {"C", "G", "D"} or not name.isupper():
                number = len(set(self._channel_ids.values())) if index is None else index
                channel_id = f"C0FAKE{number:04d}"
                while channel_id in self._channel_ids.values():
                    number += 1
                    channel_id = f"C0FAKE{number:04d}"
                self._channel_ids[f"#{name}"] = channel_id
                self._channel_ids[name] = channel_id
            else:
                channel_id = channel
            self._channel_ids[channel_id] = channel_id
            self._channel_names.setdefault(channel_id, name.lower())
            return channel_id

    def channel_id(self, channel: str) -> str:
        """Return the id a known channel id or ``#name`` resolves to (KeyError if unknown)."""
        with self._lock:
            return self._channel_ids[channel]

    def fail_next(self, method: str, kind: str, times: int = 1, retry_after: int = 1) -> None:
        """Script the next ``times`` calls of ``method`` (e.g. ``chat.postMessage``) to fail.

        ``kind``: ``ratelimited`` (429 + Retry-After), ``server_error`` (500, HTML body),
        ``invalid_auth`` / ``channel_not_found`` / ``missing_scope`` (200, ok=false) or
        ``timeout`` (the call is processed normally but the answer is delayed by
        ``timeout_sleep`` seconds).
        """
        if kind not in FAILURE_KINDS:
            expected = ", ".join(sorted(FAILURE_KINDS))
            raise ValueError(f"unknown failure kind {kind!r}; expected one of: {expected}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(_Failure(kind, retry_after) for _ in range(times))

    def pending_failures(self, method: str) -> list[str]:
        """Kinds of the scripted failures not yet consumed for ``method``."""
        with self._lock:
            return [f.kind for f in self._failures.get(method, ())]

    def delete_message(self, ts: str) -> None:
        """Delete a message (as a person in the channel might); KeyError if unknown."""
        with self._lock:
            record = next(m for m in self._messages if m["ts"] == ts)
            self._messages.remove(record)

    def reset(self) -> None:
        """Forget recorded calls, messages and unconsumed scripted failures."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._failures.clear()

    # ---------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[JsonDict]:
        """Every request: ``method``, ``headers``, ``body``, ``status``, ``error``, ``injected``."""
        with self._lock:
            return copy.deepcopy(self._calls)

    @property
    def messages(self) -> list[JsonDict]:
        """Every successfully posted message, in post order, with the request body and headers.

        Keys: ``channel`` (id), ``ts``, ``text``, ``blocks``, ``thread_ts``, ``metadata``,
        ``message`` (the message object as last returned), ``body``, ``headers``, ``edits``
        (chat.update bodies).
        """
        with self._lock:
            return copy.deepcopy(self._messages)

    def calls_to(self, method: str) -> list[JsonDict]:
        """Recorded calls of one API method."""
        return [call for call in self.calls if call["method"] == method]

    # ------------------------------------------------------------ request logic

    def _handle(
        self, path: str, headers: dict[str, str], raw: bytes, content_type: str
    ) -> tuple[_Reply, float]:
        """Process one request; return the reply and how long to wait before sending it."""
        method = path[len(_API_PREFIX) :] if path.startswith(_API_PREFIX) else path.lstrip("/")
        body, parse_error = _parse_body(raw, content_type)
        with self._lock:
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
            injected = failure.kind if failure is not None else None
            delay = 0.0
            if failure is not None and failure.kind != "timeout":
                reply = _failure_reply(failure)
            else:
                if failure is not None:
                    delay = self.timeout_sleep
                reply = self._api(method, headers, body, parse_error)
            error: str | None = None
            if reply.content_type.startswith("application/json"):
                error = json.loads(reply.body).get("error")
            elif reply.status >= 400:
                error = f"http_{reply.status}"
            self._calls.append(
                {
                    "method": method,
                    "path": path,
                    "headers": dict(headers),
                    "body": copy.deepcopy(body),
                    "status": reply.status,
                    "error": error,
                    "injected": injected,
                }
            )
        return reply, delay

    def _api(
        self, method: str, headers: dict[str, str], body: JsonDict, parse_error: str | None
    ) -> _Reply:
        """Real (non-scripted) behaviour of the fake Web API; caller holds the lock."""
        if method not in _METHODS:
            return _Reply.json(
                {"ok": False, "error": "unknown_method", "req_method": method}, status=404
            )
        auth_error = self._auth_error(headers, body)
        if auth_error is not None:
            return _Reply.json({"ok": False, "error": auth_error})
        if parse_error is not None:
            return _Reply.json({"ok": False, "error": parse_error})
        reply = self._authorised(method, headers, body)
        if self.scopes is not None:
            reply.headers["x-oauth-scopes"] = ",".join(self.scopes)
        return reply

    def _authorised(self, method: str, headers: dict[str, str], body: JsonDict) -> _Reply:
        """A call with a valid token; caller holds the lock."""
        if method == "auth.test":
            return _Reply.json(
                {
                    "ok": True,
                    "url": "https://pulso-test.slack.com/",
                    "team": "Pulso Test",
                    "user": "pulso-bot",
                    "team_id": FAKE_TEAM_ID,
                    "user_id": FAKE_USER_ID,
                    "bot_id": FAKE_BOT_ID,
                    "is_enterprise_install": False,
                }
            )
        if method == "chat.postMessage":
            return self._post_message(headers, body)
        if method == "chat.update":
            return self._update(body)
        if method == "conversations.list":
            return self._list(body)
        return self._read(method, body)

    def _auth_error(self, headers: dict[str, str], body: JsonDict) -> str | None:
        authorization = headers.get("authorization")
        if authorization is None:
            token = body.get("token")
            if not token:
                return "not_authed"
        else:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return "invalid_auth"
        return None if token.strip() == self.token else "invalid_auth"

    def _post_message(self, headers: dict[str, str], body: JsonDict) -> _Reply:
        channel_id = self._channel_ids.get(str(body.get("channel") or ""))
        if channel_id is None:
            return _Reply.json({"ok": False, "error": "channel_not_found"})
        text = body.get("text")
        blocks = body.get("blocks")
        attachments = body.get("attachments")
        if not text and not blocks and not attachments:
            return _Reply.json({"ok": False, "error": "no_text"})
        ts = self._next_ts()
        message: JsonDict = {
            "type": "message",
            "subtype": "bot_message",
            "text": text or "",
            "ts": ts,
            "bot_id": FAKE_BOT_ID,
        }
        if blocks:
            message["blocks"] = blocks
        if attachments:
            message["attachments"] = attachments
        thread_ts = body.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = thread_ts
        metadata = body.get("metadata")
        if metadata is not None:
            if not _valid_metadata(metadata):
                return _Reply.json({"ok": False, "error": "invalid_metadata_format"})
            message["metadata"] = metadata
        self._messages.append(
            {
                "channel": channel_id,
                "ts": ts,
                "text": text,
                "blocks": blocks,
                "thread_ts": thread_ts,
                "metadata": copy.deepcopy(metadata),
                "message": copy.deepcopy(message),
                "body": copy.deepcopy(body),
                "headers": dict(headers),
                "edits": [],
            }
        )
        return _Reply.json({"ok": True, "channel": channel_id, "ts": ts, "message": message})

    def _update(self, body: JsonDict) -> _Reply:
        channel_id = self._channel_ids.get(str(body.get("channel") or ""))
        if channel_id is None:
            return _Reply.json({"ok": False, "error": "channel_not_found"})
        ts = str(body.get("ts") or "")
        record = next(
            (m for m in self._messages if m["ts"] == ts and m["channel"] == channel_id), None
        )
        if record is None:
            return _Reply.json({"ok": False, "error": "message_not_found"})
        text = body.get("text")
        blocks = body.get("blocks")
        attachments = body.get("attachments")
        if text is None and blocks is None and attachments is None:
            return _Reply.json({"ok": False, "error": "no_text"})
        message: JsonDict = record["message"]
        if text is not None:
            record["text"] = text
            message["text"] = text
        if blocks is not None:
            record["blocks"] = blocks
            message["blocks"] = blocks
        if attachments is not None:
            message["attachments"] = attachments
        metadata = body.get("metadata")
        if metadata is not None:  # omitted: Slack keeps the message's metadata
            if not _valid_metadata(metadata):
                return _Reply.json({"ok": False, "error": "invalid_metadata_format"})
            message["metadata"] = record["metadata"] = metadata
        message["edited"] = {"user": FAKE_USER_ID, "ts": self._next_ts()}
        record["edits"].append(copy.deepcopy(body))
        return _Reply.json(
            {
                "ok": True,
                "channel": channel_id,
                "ts": ts,
                "text": message["text"],
                "message": copy.deepcopy(message),
            }
        )

    def _read(self, method: str, body: JsonDict) -> _Reply:
        """conversations.history (top-level, newest first) or .replies (one thread)."""
        channel_id = self._channel_ids.get(str(body.get("channel") or ""))
        if channel_id is None or channel_id != body.get("channel"):
            return _Reply.json({"ok": False, "error": "channel_not_found"})  # ids only
        in_channel = [m for m in self._messages if m["channel"] == channel_id]
        if method == "conversations.history":
            found = [m for m in in_channel if not m["thread_ts"] or m["thread_ts"] == m["ts"]]
            found.reverse()
        else:
            ts = str(body.get("ts") or "")
            target = next((m for m in in_channel if m["ts"] == ts), None)
            if target is None:
                return _Reply.json({"ok": False, "error": "thread_not_found"})
            parent = target["thread_ts"] or target["ts"]
            found = [m for m in in_channel if parent in (m["ts"], m["thread_ts"])]
        try:
            found = [m for m in found if _in_range(m["ts"], body)]
        except InvalidOperation:
            return _Reply.json({"ok": False, "error": "invalid_ts_oldest"})
        replies = {m["ts"]: 0 for m in in_channel}
        for m in in_channel:
            if m["thread_ts"] and m["thread_ts"] != m["ts"] and m["thread_ts"] in replies:
                replies[m["thread_ts"]] += 1
        page, more, cursor, error = _page(found, body, default_limit=100)
        if error:
            return _Reply.json({"ok": False, "error": error})
        with_metadata = body.get("include_all_metadata") in _TRUE
        messages = [_visible(m, replies[m["ts"]], with_metadata) for m in page]
        payload: JsonDict = {"ok": True, "messages": messages, "has_more": more}
        if method == "conversations.history":
            payload["pin_count"] = 0
        payload["response_metadata"] = {"next_cursor": cursor}
        return _Reply.json(payload)

    def _list(self, body: JsonDict) -> _Reply:
        """conversations.list: every known channel, public and member."""
        channels = [
            {
                "id": channel_id,
                "name": name,
                "is_channel": True,
                "is_group": False,
                "is_im": False,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
            }
            for channel_id, name in sorted(self._channel_names.items())
        ]
        page, _more, cursor, error = _page(channels, body, default_limit=100)
        if error:
            return _Reply.json({"ok": False, "error": error})
        return _Reply.json(
            {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}
        )

    def _next_ts(self) -> str:
        micros = max(round(self.clock() * 1_000_000), self._last_ts_micros + _TS_STEP_MICROS)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _valid_metadata(metadata: Any) -> bool:
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    )


def _in_range(ts: str, body: JsonDict) -> bool:
    """Slack's ``oldest``/``latest`` window; bounds count only with ``inclusive``."""
    inclusive = body.get("inclusive") in _TRUE
    value = Decimal(ts)
    oldest, latest = body.get("oldest"), body.get("latest")
    if oldest not in (None, ""):
        low = Decimal(str(oldest))
        if value < low or (value == low and not inclusive):
            return False
    if latest not in (None, ""):
        high = Decimal(str(latest))
        if value > high or (value == high and not inclusive):
            return False
    return True


def _page(
    items: list[Any], body: JsonDict, default_limit: int
) -> tuple[list[Any], bool, str, str | None]:
    """One cursor page: (items, has_more, next_cursor or "", error code or None)."""
    cursor = str(body.get("cursor") or "")
    if cursor and not (cursor.startswith("fake:") and cursor[5:].isdigit()):
        return [], False, "", "invalid_cursor"
    start = int(cursor[5:]) if cursor else 0
    try:
        limit = int(body.get("limit") or default_limit)
    except ValueError:
        return [], False, "", "invalid_limit"
    limit = max(1, min(limit, 1000))
    end = start + limit
    more = end < len(items)
    return items[start:end], more, f"fake:{end}" if more else "", None


def _visible(record: JsonDict, reply_count: int, with_metadata: bool) -> JsonDict:
    """A stored message as the read methods show it."""
    message = copy.deepcopy(record["message"])
    if not with_metadata:
        message.pop("metadata", None)
    if reply_count:
        message["thread_ts"] = record["ts"]
        message["reply_count"] = reply_count
    return message


def _failure_reply(failure: _Failure) -> _Reply:
    """The canned answer for a scripted failure (other than ``timeout``)."""
    if failure.kind == "ratelimited":
        reply = _Reply.json({"ok": False, "error": "ratelimited"}, status=429)
        reply.headers["Retry-After"] = str(failure.retry_after)
        return reply
    if failure.kind == "server_error":
        return _Reply(500, _SERVER_ERROR_HTML.encode("utf-8"), "text/html; charset=utf-8")
    return _Reply.json({"ok": False, "error": failure.kind})


def _parse_body(raw: bytes, content_type: str) -> tuple[JsonDict, str | None]:
    """Decode a JSON or form-encoded body; return (body, Slack error code or None)."""
    if not raw.strip():
        return {}, None
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return {}, "invalid_json"
        if not isinstance(parsed, dict):
            return {}, "invalid_json"
        return parsed, None
    body: JsonDict = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    for key in ("blocks", "attachments", "metadata"):  # form posts carry these as JSON
        value = body.get(key)
        if isinstance(value, str) and value.startswith(("[", "{")):
            try:
                body[key] = json.loads(value)
            except json.JSONDecodeError:
                return body, f"invalid_{key}"
    return body, None
