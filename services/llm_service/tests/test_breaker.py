from __future__ import annotations

from llm_service.breaker import CircuitBreaker, CircuitState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(threshold: int = 3, reset: float = 10.0) -> tuple[CircuitBreaker, Clock, list[int]]:
    clock = Clock()
    changes: list[int] = []
    breaker = CircuitBreaker(threshold, reset, clock=clock, on_change=lambda s: changes.append(s))
    return breaker, clock, changes


def test_opens_after_consecutive_failures_only() -> None:
    breaker, _, changes = make(threshold=3)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow()
    assert changes == [CircuitState.OPEN]


def test_half_open_lets_one_trial_through_and_closes_on_success() -> None:
    breaker, clock, changes = make(threshold=1, reset=10)
    breaker.record_failure()
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10.0
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.allow()
    assert changes == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED]


def test_failed_trial_opens_again_for_a_full_period() -> None:
    breaker, clock, _ = make(threshold=1, reset=10)
    breaker.record_failure()
    clock.now = 10
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    clock.now = 19
    assert not breaker.allow()
    clock.now = 20
    assert breaker.allow()


def test_released_trial_frees_the_slot() -> None:
    breaker, clock, _ = make(threshold=1, reset=1)
    breaker.record_failure()
    clock.now = 1
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()
