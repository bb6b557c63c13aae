"""What every notifier shares: its settings base, its interface and its errors."""

from __future__ import annotations

import abc
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from monitor.events import AlertEvent


class NotifierError(Exception):
    """A notifier could not deliver an event."""


class RetryableError(NotifierError):
    """Try again later (rate limit, outage, timeout); `retry_after` in seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(NotifierError):
    """Retrying soon will not help (bad token, unknown channel): a person must act."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class NotifierSettings(BaseModel):
    """Settings every notifier accepts; each notifier extends it next to its code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True


class Notifier(abc.ABC):
    """Delivers alert events somewhere people will see them."""

    name: ClassVar[str]
    Settings: ClassVar[type[NotifierSettings]]

    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def send(self, event: AlertEvent, thread_ref: str | None) -> str | None:
        """Deliver `event`; return a reference later events can thread under.

        `thread_ref` is what `send` returned for the incident's first event, if any.
        """
