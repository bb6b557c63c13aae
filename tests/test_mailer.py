"""Mail: a real SMTP server (aiosmtpd) on 127.0.0.1, and the digest outbox over SQLite."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import ValidationError
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.delivery.digests import DigestRow, deliver_digests, queue_digest
from monitor.storage.engine import make_engine, migrate, session_factory
from notifiers.email import (
    MailPermanent,
    MailRetryable,
    MailSettings,
    build_message,
    send_message,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
# AUTH over plain text is the point of the loopback server that checks logins.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Recorder:
    """An aiosmtpd handler that keeps every envelope; can refuse recipients."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.rcpt_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"pulso",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535


def start(handler: Recorder, **smtp: Any) -> Controller:
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), server_hostname="localhost", **smtp
    )
    controller.start()
    return controller


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Recorder]]:
    handler = Recorder()
    controller = start(handler)
    yield controller, handler
    controller.stop()


@pytest.fixture
def auth_server() -> Iterator[tuple[Controller, Recorder]]:
    handler = Recorder()
    controller = start(
        handler, authenticator=authenticator, auth_require_tls=False, auth_required=True
    )
    yield controller, handler
    controller.stop()


def settings(port: int, **extra: Any) -> MailSettings:
    data = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "Pulso <pulso@example.com>",
        "timeout_seconds": 5,
        "helo_name": "localhost",
    }
    return MailSettings.model_validate({**data, **extra})


def digest_message(recipients: tuple[str, ...] = ("cx@example.com",)) -> EmailMessage:
    html = '<p>Sentiment this week</p><img src="cid:trend"><img src="cid:themes">'
    return build_message(
        "Paquetto — week 2026-W47",
        "Sentiment this week: mostly positive.",
        html,
        {"trend": PNG, "themes": PNG[::-1]},
        "Pulso <pulso@example.com>",
        recipients,
    )


def test_digest_arrives_with_text_html_and_inline_images(
    smtp_server: tuple[Controller, Recorder],
) -> None:
    controller, handler = smtp_server
    send_message(settings(controller.port), digest_message(("a@example.com", "b@example.com")))

    [envelope] = handler.envelopes
    assert envelope.mail_from == "pulso@example.com"
    assert envelope.rcpt_tos == ["a@example.com", "b@example.com"]
    received = email.message_from_bytes(envelope.original_content, policy=default)
    assert received["Subject"] == "Paquetto — week 2026-W47"
    assert received.get_content_type() == "multipart/alternative"
    plain, related = received.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert "mostly positive" in plain.get_content()
    assert related.get_content_type() == "multipart/related"
    html, *images = related.get_payload()
    assert html.get_content_type() == "text/html"
    referenced = set(re.findall(r'src="cid:([^"]+)"', html.get_content()))
    assert (
        {image["Content-ID"].strip("<>") for image in images}
        == referenced
        == {
            "trend",
            "themes",
        }
    )
    for image in images:
        assert image.get_content_type() == "image/png"
        assert image.get_content_disposition() == "inline"
    assert images[0].get_content() == PNG
    # The reader's client picks the richest part it can show: HTML first, text as fallback.
    assert received.get_body(("html", "plain")).get_content_type() == "text/html"


def test_login_uses_credentials_from_the_environment(
    auth_server: tuple[Controller, Recorder], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    controller, handler = auth_server
    secret = tmp_path / "smtp_password"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("PULSO_SMTP_USERNAME", "pulso")
    monkeypatch.setenv("PULSO_SMTP_PASSWORD_FILE", str(secret))
    mail = settings(controller.port)
    assert "s3cret" not in repr(mail)

    send_message(mail, digest_message())

    assert len(handler.envelopes) == 1


def test_no_credentials_on_a_server_requiring_auth_is_permanent(
    auth_server: tuple[Controller, Recorder],
) -> None:
    controller, handler = auth_server
    with pytest.raises(MailPermanent) as raised:
        send_message(settings(controller.port), digest_message())
    assert raised.value.code == 530
    assert handler.envelopes == []


def test_wrong_password_is_permanent(
    auth_server: tuple[Controller, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    controller, handler = auth_server
    monkeypatch.setenv("PULSO_SMTP_USERNAME", "pulso")
    monkeypatch.setenv("PULSO_SMTP_PASSWORD", "wrong")
    with pytest.raises(MailPermanent) as raised:
        send_message(settings(controller.port), digest_message())
    assert raised.value.code == 535
    assert "wrong" not in str(raised.value)
    assert handler.envelopes == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [("550 5.1.1 No such user", MailPermanent), ("451 4.3.0 Try again later", MailRetryable)],
)
def test_refused_recipient(
    smtp_server: tuple[Controller, Recorder], reply: str, error: type[Exception]
) -> None:
    controller, handler = smtp_server
    handler.rcpt_reply = reply
    with pytest.raises(error, match=r"nobody@example\.com"):
        send_message(settings(controller.port), digest_message(("nobody@example.com",)))


def test_server_down_is_retryable() -> None:
    with pytest.raises(MailRetryable, match="unreachable"):
        send_message(settings(free_port()), digest_message())


def test_settings_take_secrets_only_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="PULSO_SMTP_PASSWORD"):
        settings(25, password="inline")
    with pytest.raises(ValidationError, match="missing secret: set PULSO_SMTP_PASSWORD"):
        settings(25, username="pulso")
    with pytest.raises(ValidationError, match="extra"):
        settings(25, tls=True)
    assert MailSettings(host="smtp.example.com", sender="p@example.com").port == 587
    assert MailSettings(host="h", sender="p@example.com", security="ssl").port == 465


# The digest outbox -------------------------------------------------------------------


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'pulso.db'}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def queue(sessions: sessionmaker[Session], now: datetime = NOW) -> bool:
    with sessions() as session:
        queued = queue_digest(
            session, "paquetto", "2026-W47", "cx", now, locale="es", recipients=["cx@example.com"]
        )
        session.commit()
    return queued


def rows(sessions: sessionmaker[Session]) -> list[DigestRow]:
    with sessions() as session:
        return list(session.scalars(select(DigestRow)))


class FlakySend:
    """Raises the queued errors one per call, then records the messages it sends."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[EmailMessage] = []

    def __call__(self, message: EmailMessage) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)


def build(row: DigestRow) -> EmailMessage:
    return build_message(
        f"{row.brand} {row.week}", "text", "<p>html</p>", {}, "p@example.com", row.recipients
    )


def test_migration_matches_the_model(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        columns = {c["name"] for c in inspect(session.get_bind()).get_columns("digests")}
    assert columns == set(DigestRow.__table__.columns.keys())


def test_a_digest_is_queued_once_per_brand_week_and_key(sessions: sessionmaker[Session]) -> None:
    assert queue(sessions) is True
    assert queue(sessions, NOW + timedelta(hours=1)) is False  # e.g. after a restart
    [row] = rows(sessions)
    assert (row.brand, row.week, row.locale, row.recipients) == (
        "paquetto",
        "2026-W47",
        "es",
        ["cx@example.com"],
    )
    with sessions() as session, pytest.raises(ValueError, match="ISO week"):
        queue_digest(session, "paquetto", "2026-47", "cx", NOW)


def test_deliver_sends_once(sessions: sessionmaker[Session]) -> None:
    queue(sessions)
    send = FlakySend()
    assert deliver_digests(sessions, build, send, NOW).sent == 1
    assert deliver_digests(sessions, build, send, NOW + timedelta(days=1)).sent == 0
    assert queue(sessions, NOW + timedelta(days=1)) is False  # sent digests stay sent
    assert [m["Subject"] for m in send.sent] == ["paquetto 2026-W47"]
    [row] = rows(sessions)
    assert (row.status, row.sent_at, row.attempts) == ("sent", NOW, 1)


def test_a_retryable_failure_backs_off_then_delivers_once(
    sessions: sessionmaker[Session],
) -> None:
    queue(sessions)
    send = FlakySend(MailRetryable("unreachable"), MailRetryable("unreachable"))
    assert deliver_digests(sessions, build, send, NOW).retrying == 1
    [row] = rows(sessions)
    first_delay = row.next_attempt_at - NOW
    assert first_delay > timedelta(0) and row.status == "pending"
    assert deliver_digests(sessions, build, send, NOW).sent == 0  # not due yet
    later = NOW + first_delay
    assert deliver_digests(sessions, build, send, later).retrying == 1
    [row] = rows(sessions)
    assert row.next_attempt_at - later > first_delay  # exponential
    assert deliver_digests(sessions, build, send, row.next_attempt_at).sent == 1
    assert deliver_digests(sessions, build, send, NOW + timedelta(days=2)).sent == 0
    assert len(send.sent) == 1
    [row] = rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


def test_a_permanent_failure_keeps_the_digest(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    queue(sessions)
    refused = MailPermanent("smtp:587 answered 535: bad credentials", 535)
    send = FlakySend(refused, refused)
    assert deliver_digests(sessions, build, send, NOW).refused == 1
    [row] = rows(sessions)
    assert row.status == "pending"
    assert row.last_error == f"refused: {refused}"  # a start tries refused rows at once
    assert row.next_attempt_at > NOW + timedelta(hours=1)  # retried slowly
    deliver_digests(sessions, build, send, row.next_attempt_at)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1  # logged once, not at every try
    [row] = rows(sessions)
    assert deliver_digests(sessions, build, send, row.next_attempt_at).sent == 1  # fixed
    assert len(send.sent) == 1
