"""E-mail over SMTP (stdlib smtplib): settings, the MIME message, and one send.

Failures are sorted at this edge: a refused connection, a timeout or a 4xx reply is
`MailRetryable`; a 5xx refusal (bad credentials, unknown recipient) is `MailPermanent`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.kernel.secrets import environment, from_environment, optional_secret, require_secret
from notifiers.base import NotifierError, PermanentError, RetryableError

logger = logging.getLogger(__name__)

USERNAME_VAR = "PULSO_SMTP_USERNAME"
PASSWORD_VAR = "PULSO_SMTP_PASSWORD"
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}

Security = Literal["starttls", "ssl", "none"]


class MailError(NotifierError):
    """Sending an e-mail failed; `code` is the SMTP reply code when there was one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)  # cooperative: RetryableError/PermanentError set theirs
        self._reply_code = code

    @property
    def code(self) -> int | None:
        """The SMTP reply code (read-only, as `PermanentError.code` is)."""
        return self._reply_code


# Also the notifiers' retryable / permanent errors, so that the digest outbox sorts its
# failures the way the alert outbox does (monitor.delivery.retry).
class MailRetryable(MailError, RetryableError):
    """The server was unreachable or answered 4xx: the same message may go through later."""


class MailPermanent(MailError, PermanentError):
    """The server refused with 5xx (credentials, sender, recipients): a setting must change."""


class MailSettings(BaseModel):
    """SMTP settings. Credentials come only from `PULSO_SMTP_USERNAME` / `PULSO_SMTP_PASSWORD`.

    ```yaml
    mail:
      host: smtp.example.com
      port: 587               # default: 587 starttls, 465 ssl, 25 none
      security: starttls      # starttls | ssl | none
      sender: "Pulso <pulso@example.com>"
      timeout_seconds: 30
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    security: Security = "starttls"
    username: str | None = Field(default=None, validate_default=True)
    password: SecretStr | None = Field(default=None, validate_default=True)
    sender: str
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # Name sent in EHLO; None asks the OS (a DNS lookup), which can stall in containers.
    helo_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_port(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("port") is None:
            security = data.get("security", "starttls")
            return {**data, "port": DEFAULT_PORTS.get(security, 587)}
        return data

    @field_validator("username", mode="before")
    @classmethod
    def _username(cls, value: object, info: ValidationInfo) -> object:
        return from_environment(USERNAME_VAR, value, info) or None

    @field_validator("password", mode="before")
    @classmethod
    def _password(cls, value: object, info: ValidationInfo) -> str | None:
        environ = environment(info.context)
        if info.data.get("username"):
            return require_secret(PASSWORD_VAR, value, environ)
        if optional_secret(PASSWORD_VAR, value, environ):
            raise ValueError(f"{PASSWORD_VAR} is set but {USERNAME_VAR} is not")
        return None

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address:
            raise ValueError(f"{value!r} is not an e-mail address such as pulso@example.com")
        return value


def build_message(
    subject: str,
    text: str,
    html: str,
    images: Mapping[str, bytes],
    sender: str,
    recipients: Sequence[str],
) -> EmailMessage:
    """A multipart/alternative mail: plain text, and HTML with inline PNGs.

    The HTML refers to each image as `<img src="cid:KEY">`, KEY being its key in `images`.
    """
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    # A domain given, so that make_msgid does not look up the host's name.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "pulso.invalid"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    _, html_part = message.iter_parts()
    for key, data in images.items():
        cid = key.strip("<>")
        html_part.add_related(
            data, "image", "png", cid=f"<{cid}>", disposition="inline", filename=f"{cid}.png"
        )
    return message


def send_message(settings: MailSettings, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Send `message`; returns the recipients the server refused while accepting others."""
    where = f"{settings.host}:{settings.port}"
    try:
        with _connect(settings) as smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username and settings.password:
                smtp.login(settings.username, settings.password.get_secret_value())
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = MailRetryable if any(400 <= c < 500 for c in codes) else MailPermanent
        raise error(f"{where} refused every recipient: {_describe(exc.recipients)}") from exc
    except smtplib.SMTPResponseException as exc:  # auth, sender, data, connect replies
        reply = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else exc.smtp_error
        )
        error = MailRetryable if 400 <= exc.smtp_code < 500 else MailPermanent
        raise error(f"{where} answered {exc.smtp_code}: {reply}", exc.smtp_code) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise MailRetryable(f"{where} closed the connection: {exc}") from exc
    except smtplib.SMTPException as exc:  # STARTTLS or AUTH unsupported: a setting to change
        raise MailPermanent(f"{where}: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise MailPermanent(f"{where}: TLS certificate refused: {exc.verify_message}") from exc
    except OSError as exc:  # refused, unreachable, timed out, TLS handshake cut
        raise MailRetryable(f"{where} unreachable: {exc}") from exc
    if refused:
        logger.warning("mail: %s refused some recipients: %s", where, _describe(refused))
    logger.info("mail: sent %r via %s", message["Subject"], where)
    return refused


def _connect(settings: MailSettings) -> smtplib.SMTP:
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            local_hostname=settings.helo_name,
            timeout=settings.timeout_seconds,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(
        settings.host,
        settings.port,
        local_hostname=settings.helo_name,
        timeout=settings.timeout_seconds,
    )


def _describe(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode(errors='replace')})"
        for address, (code, reply) in recipients.items()
    )
