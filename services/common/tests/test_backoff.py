"""The one back-off helper: capped exponential steps, jitter, bounded retries."""

from __future__ import annotations

import pytest
from chatbot_common.backoff import MAX_BACKOFF, Backoff, retry


def test_steps_double_up_to_the_cap() -> None:
    backoff = Backoff(0.1, cap=1.0)
    assert [backoff.step(n) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert Backoff(1.0).step(10_000) == MAX_BACKOFF  # no float overflow for long outages


def test_full_jitter_spreads_over_the_whole_step() -> None:
    backoff = Backoff(1.0, cap=4.0)
    delays = [backoff.delay(3) for _ in range(400)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert min(delays) < 1.0 and max(delays) > 3.0  # not a fixed fraction of the step
    assert len(set(delays)) > 300


def test_a_floor_keeps_a_minimum_wait() -> None:
    backoff = Backoff(0.5, cap=2.0, floor=0.5)
    for attempt in range(8):
        step = backoff.step(attempt)
        assert all(step / 2 <= backoff.delay(attempt) <= step for _ in range(50))


def test_bad_settings_are_refused() -> None:
    for bad in ({"base": -1}, {"base": 1, "cap": -1}, {"base": 1, "floor": 1.5}):
        with pytest.raises(ValueError, match="must be"):
            Backoff(**bad)  # type: ignore[arg-type]


class Flaky(Exception):
    pass


async def test_retry_until_the_call_succeeds() -> None:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Flaky
        return "ok"

    assert await retry(call, attempts=5, backoff=Backoff(0), retry_on=(Flaky,)) == "ok"
    assert len(calls) == 3


async def test_retry_gives_up_after_the_last_attempt_with_its_error() -> None:
    calls: list[int] = []

    async def call() -> None:
        calls.append(1)
        raise Flaky(len(calls))

    with pytest.raises(Flaky) as raised:
        await retry(call, attempts=4, backoff=Backoff(0), retry_on=(Flaky,))
    assert len(calls) == 4 and raised.value.args == (4,)


async def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    async def call() -> None:
        calls.append(1)
        raise KeyError("not transient")

    with pytest.raises(KeyError):
        await retry(call, attempts=4, backoff=Backoff(0), retry_on=(Flaky,))
    assert len(calls) == 1
