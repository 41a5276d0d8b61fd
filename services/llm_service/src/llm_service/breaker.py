"""A circuit breaker per upstream: closed, open, half-open.

Closed: requests flow; ``failure_threshold`` consecutive failures open the circuit.
Open: requests are refused (the gateway moves on to the next upstream) for ``reset_seconds``.
Half-open: after that, one trial request at a time is let through; its success closes the
circuit, its failure opens it again for another ``reset_seconds``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class CircuitState(enum.IntEnum):
    """Values as exported by the ``llm_circuit_state`` gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[CircuitState], None] | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._on_change = on_change
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        if (
            self._state is CircuitState.OPEN
            and self._clock() - self._opened_at >= self.reset_seconds
        ):
            self._set(CircuitState.HALF_OPEN)
        return self._state

    def allow(self) -> bool:
        """May a request go to this upstream now? In half-open, only one trial at a time."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._trial_in_flight = False
        if self._state is not CircuitState.CLOSED:
            self._set(CircuitState.CLOSED)

    def record_failure(self) -> None:
        self._trial_in_flight = False
        if self.state is CircuitState.HALF_OPEN:
            self._open()
            return
        self._failures += 1
        if self._state is CircuitState.CLOSED and self._failures >= self.failure_threshold:
            self._open()

    def release(self) -> None:
        """A request that was let through ended with neither verdict (e.g. the caller left)."""
        self._trial_in_flight = False

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._set(CircuitState.OPEN)

    def _set(self, state: CircuitState) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)
