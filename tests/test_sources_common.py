"""The sweep cursor and the retry policy every platform source uses."""

from __future__ import annotations

import random

import pytest

from sources.base import RateLimited
from sources.common import Sweep, TransientError, raise_for_status, with_retries


def test_a_sweep_pages_back_then_moves_the_high_water_mark() -> None:
    state = Sweep.load(None)
    state, more = state.after_page(newest="90", next_token="t1")
    assert more and state == Sweep(since=None, top="90", token="t1")
    resumed = Sweep.load(state.dump())  # saved with the page, read after a restart
    assert resumed.in_progress and resumed.token == "t1"
    state, more = resumed.after_page(newest="60", next_token=None)
    assert not more and state == Sweep(since="90")


def test_an_empty_sweep_keeps_what_was_collected() -> None:
    state, more = Sweep(since="90").after_page(newest=None, next_token=None)
    assert not more and state == Sweep(since="90")


def test_a_bare_id_cursor_is_read_as_the_high_water_mark() -> None:
    assert Sweep.load("12345") == Sweep(since="12345")


def test_transient_errors_are_retried_with_growing_waits() -> None:
    waits: list[float] = []
    calls = iter([TransientError("502"), TransientError("timeout"), "ok"])

    def call() -> str:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert with_retries(call, "test", sleep=waits.append, rng=random.Random(1)) == "ok"
    assert len(waits) == 2 and 0.5 <= waits[0] <= 1.5 and 1.0 <= waits[1] <= 3.0


def test_retries_give_up_and_rate_limits_are_not_retried() -> None:
    waits: list[float] = []

    def broken() -> str:
        raise TransientError("503")

    with pytest.raises(TransientError):
        with_retries(broken, "test", sleep=waits.append)
    assert len(waits) == 2

    def limited() -> str:
        raise RateLimited("429", retry_after=60)

    with pytest.raises(RateLimited):
        with_retries(limited, "test", sleep=waits.append)
    assert len(waits) == 2


def test_statuses_map_to_source_errors() -> None:
    with pytest.raises(RateLimited) as caught:
        raise_for_status(429, "x", retry_after=12)
    assert caught.value.retry_after == 12
    with pytest.raises(TransientError):
        raise_for_status(503, "x")
    raise_for_status(200, "x")
