"""What every notifier shares: its settings base, its interface and its errors."""

from __future__ import annotations

import abc
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from monitor.kernel.events import AlertEvent


class NotifierError(Exception):
    """A notifier could not deliver an event."""


class RetryableError(NotifierError):
    """Try again later (rate limit, outage, timeout); `retry_after` in seconds if known.

    `maybe_delivered` is true when the other side may have acted before failing (a
    timeout, a 5xx): the next try must look for the message before sending it again.
    """

    def __init__(
        self, message: str, retry_after: float | None = None, *, maybe_delivered: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class PermanentError(NotifierError):
    """Retrying soon will not help (bad token, unknown channel): a person must act.

    `code` names the refusal as the other side did: Slack's error string, an SMTP reply
    code (e-mail sets it itself, and may have none).
    """

    def __init__(self, message: str, code: str | int | None = None) -> None:
        super().__init__(message)
        self._code = code

    # Read-only, so that e-mail's refusal may narrow it to its SMTP reply code (int | None).
    @property
    def code(self) -> str | int | None:
        """The other side's name or number for the refusal, if it gave one."""
        return self._code


class NotifierSettings(BaseModel):
    """Settings every notifier accepts; each notifier extends it next to its code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True


# A notifier's own settings class; covariant, like a source's (see sources/base.py).
N_co = TypeVar("N_co", bound=NotifierSettings, covariant=True)


class Notifier(abc.ABC, Generic[N_co]):
    """Delivers alert events somewhere people will see them.

    `SlackNotifier(Notifier[SlackSettings])` makes `self.settings` a `SlackSettings`;
    `Settings` names the same class for config validation.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[NotifierSettings]]

    def __init__(self, settings: N_co) -> None:
        self.settings = settings

    @abc.abstractmethod
    def send(self, event: AlertEvent, thread_ref: str | None, key: str | None = None) -> str | None:
        """Deliver `event`; return a reference to what was delivered.

        `thread_ref` is what `send` returned for the incident's first event, if any.
        `key` is the delivery's idempotency key, for notifiers that can tag their messages
        with it so that `find_delivered` can recognise them.
        """

    def find_delivered(
        self, event: AlertEvent, key: str, thread_ref: str | None, since: datetime
    ) -> str | None:
        """The reference of a message an interrupted `send` left behind, if it can tell.

        Called before sending again when an earlier try may have delivered (a crash or a
        timeout after the request left); `since` is when the event was queued. The default
        cannot tell, so the event is sent again.
        """
        return None

    def check(self) -> list[PermanentError]:
        """What a cheap call to the other side finds wrong with the settings, if anything.

        Run at start and by `pulso check-config --online`, so that a rejected token or a
        missing permission is said once, by name, before an alert needs it. Each problem
        is a `PermanentError` whose message is one line for a person. Raises
        `RetryableError` when it cannot tell (the service is unreachable). The default
        has nothing cheap to ask, and finds nothing.
        """
        return []

    def follow_up(self, event: AlertEvent, thread_ref: str | None) -> None:
        """Work after `event` is delivered (Slack: refresh the incident's first message).

        Retried on its own, without sending the event again, so it must be safe to repeat.
        """
        return None
