"""Capped exponential back-off with jitter: the one waiting rule of every retry loop.

Attempt ``n`` (0 for the wait before the first retry) waits a random time in
``[floor * step, step]`` with ``step = min(cap, base * 2**n)``. ``floor=0`` is full jitter
(the AWS architecture blog's recommendation: retries of many clients spread out evenly and the
load a recovering dependency meets stays flat); a positive ``floor`` keeps a minimum wait (the
LLM gateway's retries of an upstream that just failed, ``floor=0.5``).

``retry`` runs a bounded number of attempts of one call; loops that retry forever (reconnects,
sweeps) keep their own attempt counter and call ``Backoff.sleep(attempt)``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

#: The longest wait between two attempts anywhere (seconds).
MAX_BACKOFF = 30.0
#: 2**62 steps already exceed any cap; beyond it the float would overflow.
_MAX_EXPONENT = 62


@dataclass(frozen=True)
class Backoff:
    """The wait before each repeat: ``base`` seconds at first, doubling up to ``cap``."""

    base: float
    cap: float = MAX_BACKOFF
    floor: float = 0.0  # the fraction of the step always waited (0: full jitter)

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or not 0 <= self.floor <= 1:
            raise ValueError("base and cap must be >= 0, floor within [0, 1]")

    def step(self, attempt: int) -> float:
        """The longest wait before repeat ``attempt`` (0, 1, ...)."""
        return min(self.cap, self.base * 2.0 ** min(max(attempt, 0), _MAX_EXPONENT))

    def delay(self, attempt: int) -> float:
        """A random wait before repeat ``attempt``, within ``[floor * step, step]``."""
        step = self.step(attempt)
        return random.uniform(self.floor * step, step)

    async def sleep(self, attempt: int) -> None:
        await asyncio.sleep(self.delay(attempt))


async def retry(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    backoff: Backoff,
    retry_on: tuple[type[BaseException], ...],
) -> T:
    """``await call()`` up to ``attempts`` times while it raises one of ``retry_on``, waiting
    ``backoff`` between; the last error propagates, any other error at once."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(attempts - 1):
        try:
            return await call()
        except retry_on:
            await backoff.sleep(attempt)
    return await call()
