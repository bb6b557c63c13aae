"""Where alerts and digests go. The registry is explicit, like the sources'; e-mail is
exported here for the weekly digest."""

from __future__ import annotations

from notifiers.base import Notifier, NotifierError, NotifierSettings, PermanentError, RetryableError
from notifiers.console import ConsoleNotifier
from notifiers.email import (
    MailError,
    MailPermanent,
    MailRetryable,
    MailSettings,
    build_message,
    send_message,
)
from notifiers.slack import SlackNotifier

NOTIFIERS: dict[str, type[Notifier[NotifierSettings]]] = {
    ConsoleNotifier.name: ConsoleNotifier,
    SlackNotifier.name: SlackNotifier,
}

__all__ = [
    "NOTIFIERS",
    "MailError",
    "MailPermanent",
    "MailRetryable",
    "MailSettings",
    "Notifier",
    "NotifierError",
    "NotifierSettings",
    "PermanentError",
    "RetryableError",
    "build_message",
    "send_message",
]
