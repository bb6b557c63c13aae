"""Load a heavy object once, on first use, whichever thread asks first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """The value of `factory()`, made on the first `get()` and kept from then on.

    Concurrent first calls wait for one another: the factory runs once. If it raises,
    nothing is kept and the exception reaches the caller; the next `get()` tries again.
    (A factory that wants a failure remembered returns a value saying so, e.g. None.)
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._box: tuple[T] | None = None  # a box, so that None can be a kept value

    def get(self) -> T:
        """The value, made now if this is the first successful call."""
        box = self._box
        if box is None:
            with self._lock:
                box = self._box
                if box is None:
                    box = self._box = (self._factory(),)
        return box[0]
