"""Bounded retries of transient store errors (``chatbot_common.backoff``: full jitter), then
``UnavailableError`` (HTTP 503)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from chatbot_common.backoff import Backoff, retry
from chatbot_common.errors import UnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.05
    max_delay: float = 1.0

    @cached_property
    def backoff(self) -> Backoff:
        return Backoff(self.base_delay, self.max_delay)

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)]."""
        return self.backoff.delay(attempt)

    async def run(
        self,
        operation: str,
        call: Callable[[], Awaitable[T]],
        transient: tuple[type[BaseException], ...],
    ) -> T:
        """Run ``call``; on a ``transient`` error retry, then raise ``UnavailableError``."""
        try:
            return await retry(
                call, attempts=self.attempts, backoff=self.backoff, retry_on=transient
            )
        except transient as exc:
            log.warning(
                "store unavailable",
                extra={"operation": operation, "attempts": self.attempts, "error": repr(exc)},
            )
            raise UnavailableError("the history store is unavailable") from exc
