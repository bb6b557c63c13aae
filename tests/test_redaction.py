"""Secrets never leak: not in a log line (any logger, text or JSON), an error, the database,
`/healthz` or `pulso sources`, even when an upstream answer echoes the request."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, select

from monitor.cli.main import main
from monitor.kernel.redact import (
    MASK,
    forget_secrets,
    http_problem,
    redact,
    register_secret,
    snippet,
)
from monitor.kernel.secrets import read_secret
from monitor.runtime import build_runtime
from monitor.service.logs import setup_logging
from monitor.settings import load_settings
from monitor.storage.health import record_failure, statuses
from monitor.storage.schema import SourceHealthRow
from sources.base import SourceError
from tests.fakes.x_api import FakeX
from tests.helpers import END, mention, write_config, write_jsonl
from tests.source_harnesses import HARNESSES, Harness, Post

# Every library that logs requests at DEBUG: the test opens them all.
CHATTY = ("tweepy", "prawcore", "praw", "urllib3", "httpx", "httpcore", "mastodon", "atproto")
MASTODON_TOKEN = "mastodon-access-token-0123456789"
RSS_KEY = "rss-feed-key-abcdef0123456789"
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


# --- the redactor -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "Headers: {'User-Agent': 'tweepy', 'Authorization': 'Bearer AAAA1234zzzz'}",
            "AAAA1234zzzz",
        ),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl\nnext", "eyJhbGciOi"),
        ("authorization: token ghp_0123456789abcdef", "ghp_0123456789abcdef"),
        ('{"Authorization": "Basic YXBwLWlkOmFwcC1zZWNyZXQ="}', "YXBwLWlkOmFwcC1zZWNyZXQ"),
        ("curl -H 'Authorization: Basic YXBwLWlkOmFwcC1zZWNyZXQ='", "YXBwLWlk"),
        ("slack said xoxb-1234-5678-AbCdEf for the bot", "xoxb-1234-5678-AbCdEf"),
        ("socket mode xapp-1-A0B1C2-123-abcdef", "xapp-1-A0B1C2-123-abcdef"),
        ("GET /search?q=acme&api_key=0123456789abcdef&limit=5", "0123456789abcdef"),
        ('{"access_token": "zz9a8b7c6d5e4f3", "token_type": "bearer"}', "zz9a8b7c6d5e4f3"),
        ("{'accessJwt': 'eyJ0eXAi.eyJzY29wZSI.sig'}", "eyJ0eXAi"),
        ("grant_type=client_credentials&client_secret=hunter2", "hunter2"),
        ('{"password": "pw"}', '"pw"'),
        ("postgresql+psycopg://pulso:s3cr3t@db:5432/pulso", "s3cr3t"),
        ("Cookie: session=abcdef0123", "abcdef0123"),
    ],
)
def test_credential_shapes_are_masked(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked and MASK in masked


@pytest.mark.parametrize(
    "text",
    [
        "missing secret: set PULSO_X_BEARER_TOKEN (or PULSO_X_BEARER_TOKEN_FILE)",
        "x: the query for acme is 600 characters, over max_query_length 512",
        "GET /2/tweets/search/recent?max_results=10&next_token=b26v89c19zqg8o3f",
        "Basic authentication failed; check the bearer token",
        '{"token_type": "bearer", "expires_in": 3600}',
        "https://user@example.com/feed.xml and https://example.com:8443/a:b",
        "x: 12 posts for acme (1,200 read this month)",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_registered_secrets_are_masked_in_every_form() -> None:
    register_secret("plain-Secret/with+chars")
    register_secret("abc")  # too short to register: it would mask ordinary words
    text = 'a plain-Secret/with+chars b plain-Secret%2Fwith%2Bchars c {"v": "abc"}'
    assert redact(text) == f'a {MASK} b {MASK} c {{"v": "abc"}}'


def test_secrets_read_from_the_environment_are_registered(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("file-held-token-77\n")
    assert read_secret("PULSO_X_BEARER_TOKEN", {"PULSO_X_BEARER_TOKEN_FILE": str(path)})
    assert read_secret("PULSO_SLACK_BOT_TOKEN", {"PULSO_SLACK_BOT_TOKEN": "env-held-value"})
    assert redact("file-held-token-77 env-held-value") == f"{MASK} {MASK}"


def test_the_registry_is_safe_across_threads() -> None:
    values = [f"thread-secret-{n:04d}" for n in range(200)]
    threads = [threading.Thread(target=register_secret, args=(v,)) for v in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redact(" ".join(values)) == " ".join([MASK] * len(values))


def test_an_upstream_problem_is_status_host_and_a_short_reason() -> None:
    register_secret("tok-0123456789")
    echoed = "You sent:\nGET /x HTTP/1.1\nAuthorization: Bearer tok-0123456789\n" + "x" * 500
    message = http_problem(401, "https://user:pw@api.example.com:8443/2/x?token=1", echoed)
    assert message.startswith("HTTP 401 from api.example.com:8443: You sent: GET /x")
    assert "\n" not in message and "tok-0123456789" not in message and "pw" not in message
    assert len(message) <= len("HTTP 401 from api.example.com:8443: ") + 120
    assert http_problem(503, "http://h/", None) == "HTTP 503 from h: Service Unavailable"
    assert snippet(b"two\nlines") == "two lines"


def test_a_source_error_is_redacted_when_built() -> None:
    register_secret("built-in-secret-1")
    assert "built-in-secret-1" not in str(SourceError("x: refused built-in-secret-1"))


def test_stored_and_shown_errors_are_redacted(tmp_path: Path) -> None:
    replay = write_jsonl(tmp_path / "r.jsonl", [mention(0, "ACME", END)])
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "db.sqlite")
    rt = build_runtime(load_settings(config), clock=lambda: END)
    with rt.sessions.begin() as session:
        record_failure(session, "acme", "replay", END, "echo: Authorization: Bearer AAAA1234zz")
    with rt.sessions.begin() as session:  # a row an older version stored verbatim
        row = session.get(SourceHealthRow, ("acme", "replay"))
        assert row is not None and "AAAA1234zz" not in str(row.last_error)
        row.last_error = "old: Authorization: Bearer BBBB5678yy"
    with rt.sessions() as session:
        (status,) = statuses(session, [("acme", "replay")], END + timedelta(seconds=1))
    rt.close()
    assert status.last_error == f"old: Authorization: Bearer {MASK}"


# --- every source at DEBUG ----------------------------------------------------------------


def _secrets_of(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The credentials a source's run involves: configured ones and those it obtains."""
    fake: Any = harness.fake  # type: ignore[attr-defined]
    if harness.name == "x":
        return [fake.token]
    if harness.name == "reddit":
        from tests.fakes.reddit_api import TOKEN

        return ["app-id", "app-secret", TOKEN]
    if harness.name == "bluesky":
        return [fake.password, fake._access]
    if harness.name == "mastodon":
        monkeypatch.setenv("PULSO_MASTODON_ACCESS_TOKEN", MASTODON_TOKEN)
        return [MASTODON_TOKEN]
    if harness.name == "rss":  # a feed URL may carry its own key: a shape, not registered
        from sources.rss import RssSource

        keyed = (fake.url(harness.PATH) + f"?access_key={RSS_KEY}",)
        built = harness.source().settings
        monkeypatch.setattr(
            harness, "source", lambda: RssSource(built.model_copy(update={"feeds": keyed}))
        )
        return [RSS_KEY]
    return []  # hackernews: a public API, no credential at all


def _open_the_chatty_loggers() -> None:
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG)


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("harness_class", HARNESSES, ids=lambda h: h.name)
def test_each_source_at_debug_logs_no_secret(
    harness_class: type[Harness],
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    harness = harness_class(monkeypatch)
    with harness.running():
        secrets = _secrets_of(harness, monkeypatch)
        harness.add_posts(
            [Post(str(n), f"paquetto post {n}", START + timedelta(seconds=n)) for n in range(1, 6)]
        )
        setup_logging("DEBUG", fmt)
        _open_the_chatty_loggers()
        source = harness.source()
        mentions, _, _ = harness.drain(source, None)
    err = capsys.readouterr().err
    assert len(mentions) == 5
    assert "DEBUG" in err  # the DEBUG loggers did write
    if fmt == "json":
        assert all(json.loads(line) for line in err.splitlines())
    for secret in secrets:
        assert secret not in err


def test_the_x_bearer_token_is_masked_in_tweepy_debug_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The measured leak: tweepy's "Making API request" line prints the headers it sends.
    harness = HARNESSES[0](monkeypatch)
    with harness.running():
        setup_logging("DEBUG", "text")
        harness.drain(harness.source(), None)
    err = capsys.readouterr().err
    assert "'Authorization': 'Bearer [redacted]'" in err


# --- an upstream that echoes the request ---------------------------------------------------

ECHO_TOKEN = "AAAA-echoed-bearer-0123456789"


def _echo(harness: Harness) -> None:
    """Make the harness's fake answer its next requests with the request echoed."""
    fake: Any = harness.fake  # type: ignore[attr-defined]
    if harness.name == "x":
        fake.fail_next("echo", 401, times=5)
    elif harness.name == "reddit":
        fake.fail("echo")
    else:
        fake.fail("echo", 400, times=5)


@pytest.mark.parametrize(
    "harness_class",
    [h for h in HARNESSES if h.name in ("x", "reddit", "mastodon", "bluesky")],
    ids=lambda h: h.name,
)
def test_an_echoed_request_leaves_no_secret_in_the_error(
    harness_class: type[Harness],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    harness = harness_class(monkeypatch)
    with harness.running():
        secrets = _secrets_of(harness, monkeypatch)
        setup_logging("DEBUG", "text")
        _open_the_chatty_loggers()
        _echo(harness)
        with pytest.raises(SourceError) as caught:
            harness.fetch(harness.source(), None)
    message = str(caught.value)
    err = capsys.readouterr().err
    assert "\n" not in message and len(message) < 300
    if harness.name == "reddit":  # reddit's echo is a 200 that is not a Listing
        assert "did not answer a Listing" in message
    else:
        assert "HTTP 4" in message and "from 127.0.0.1:" in message
    for secret in secrets:
        assert secret not in message and secret not in err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_echoed_bearer_token_is_nowhere_pulso_shows_errors(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.service.daemon import run_once

    try:  # /healthz's body is moving from httpd.py to health.py (issue 14, point 7)
        from monitor.service.health import health_report
    except ImportError:
        from monitor.service.httpd import health_report  # type: ignore[attr-defined,no-redef]

    database = tmp_path / "db.sqlite"
    replay = write_jsonl(tmp_path / "r.jsonl", [mention(0, "ACME", END)])
    config = write_config(tmp_path / "pulso.yaml", replay, database)
    data = yaml.safe_load(config.read_text())
    data["brands"][0]["sources"]["x"] = {"timeout_seconds": 5}
    config.write_text(yaml.safe_dump(data))
    with FakeX(token=ECHO_TOKEN) as fake:
        monkeypatch.setenv("PULSO_X_BEARER_TOKEN", ECHO_TOKEN)
        monkeypatch.setenv("PULSO_X_API_URL", fake.base_url)
        setup_logging("DEBUG", fmt)
        _open_the_chatty_loggers()
        fake.fail_next("echo", 401, times=5)
        rt = build_runtime(load_settings(config))
        try:
            assert run_once(rt, delivery_wait=0) == 1  # the X job failed, and said so
            _, health = health_report(rt, alive=lambda: True)
        finally:
            rt.close()
    log = capsys.readouterr().err
    assert main(["sources", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        stored = connection.execute(select(SourceHealthRow.last_error)).scalars().all()
    engine.dispose()
    (error,) = [e for e in stored if e]
    assert error.startswith("x: refused (HTTP 401 from 127.0.0.1:")
    assert "You sent:" in log and "WARNING" in log  # the echo was logged, and the failure
    shown = json.dumps(health)
    assert "HTTP 401" in shown and "HTTP 401" in table
    for output in (log, error, shown, table):
        assert ECHO_TOKEN not in output


def test_a_notifier_error_that_echoes_a_token_is_kept_without_it() -> None:
    from dataclasses import dataclass
    from datetime import UTC, datetime

    from monitor.delivery.retry import ALERT_RETRIES, attempt
    from notifiers.base import PermanentError

    @dataclass
    class Row:
        attempts: int = 1
        last_error: str | None = None
        next_attempt_at: datetime | None = None

    token = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"

    def refuse() -> None:
        raise PermanentError(f"invalid_auth (sent Authorization: Bearer {token})")

    row = Row()
    failure = attempt(row, refuse, ALERT_RETRIES, lambda: datetime(2026, 12, 2, tzinfo=UTC))
    assert failure is not None and failure.kind == "permanent"
    assert row.last_error is not None and row.last_error.startswith("refused: invalid_auth")
    assert token not in row.last_error and "xoxb-" not in row.last_error
