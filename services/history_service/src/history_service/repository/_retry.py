"""Bounded retries with capped, jittered exponential back-off for transient store errors."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from chatbot_common.errors import UnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.05
    max_delay: float = 1.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))

    async def run(
        self,
        operation: str,
        call: Callable[[], Awaitable[T]],
        transient: tuple[type[BaseException], ...],
    ) -> T:
        """Run ``call``; on a ``transient`` error retry, then raise ``UnavailableError``."""
        for attempt in range(self.attempts):
            try:
                return await call()
            except transient as exc:
                if attempt + 1 >= self.attempts:
                    log.warning(
                        "store unavailable",
                        extra={
                            "operation": operation,
                            "attempts": self.attempts,
                            "error": repr(exc),
                        },
                    )
                    raise UnavailableError("the history store is unavailable") from exc
                await asyncio.sleep(self.delay(attempt))
        raise AssertionError("unreachable")
