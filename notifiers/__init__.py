"""Where alerts go. The registry is explicit, like the sources'."""

from __future__ import annotations

from notifiers.base import Notifier, NotifierError, NotifierSettings, PermanentError, RetryableError
from notifiers.console import ConsoleNotifier
from notifiers.slack import SlackNotifier

NOTIFIERS: dict[str, type[Notifier]] = {
    ConsoleNotifier.name: ConsoleNotifier,
    SlackNotifier.name: SlackNotifier,
}

__all__ = [
    "NOTIFIERS",
    "Notifier",
    "NotifierError",
    "NotifierSettings",
    "PermanentError",
    "RetryableError",
]
