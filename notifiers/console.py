"""Console notifier: alerts on standard output, for the demo and for log collectors."""

from __future__ import annotations

import sys
import threading
from typing import ClassVar, TextIO

from monitor.kernel.events import AlertEvent
from notifiers.base import Notifier, NotifierSettings
from notifiers.render import plain_text


class ConsoleSettings(NotifierSettings):
    """Console settings.

    ```yaml
    notifiers:
      console: {}          # or `console: {enabled: false}`
    ```
    """


class ConsoleNotifier(Notifier[ConsoleSettings]):
    """Writes each alert event as plain text to a stream (standard output by default)."""

    name: ClassVar[str] = "console"
    Settings: ClassVar[type[NotifierSettings]] = ConsoleSettings
    _lock = threading.Lock()

    def __init__(self, settings: ConsoleSettings, stream: TextIO | None = None) -> None:
        super().__init__(settings)
        self.stream = stream

    def send(self, event: AlertEvent, thread_ref: str | None, key: str | None = None) -> str | None:
        """Write the event and flush, so the alert shows at once."""
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(plain_text(event) + "\n\n")
            stream.flush()
        return None
