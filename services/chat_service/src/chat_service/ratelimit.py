"""Hook for per-user rate limits (a later issue fills it in)."""

from __future__ import annotations

from typing import Protocol


class RateLimiter(Protocol):
    async def check(self, user_id: str, event: str) -> None:
        """Raise ``RateLimitedError`` when ``user_id`` may not send ``event`` now."""


class NoRateLimit:
    async def check(self, user_id: str, event: str) -> None:
        return None
