"""Which models a conversation may name: those the LLM service offers (its ``/v1/models``).

Clients choose a conversation's model; every answer is paid on the operator's upstream key,
so any model the LLM service does not list is refused (``invalid``). The list is reused for
``MODELS_CACHE_SECONDS``; when the LLM service cannot be asked, the last list known is used.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from chatbot_common.errors import InvalidError


class AllowedModels:
    def __init__(self, fetch: Callable[[], Awaitable[list[str]]], ttl_seconds: float) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._ids: frozenset[str] | None = None
        self._at = 0.0

    async def check(self, model: str) -> None:
        if model not in await self._current():
            raise InvalidError(f"model {model!r} is not offered here")

    async def _current(self) -> frozenset[str]:
        if self._ids is not None and time.monotonic() - self._at < self._ttl:
            return self._ids
        try:
            self._ids = frozenset(await self._fetch())
        except Exception:
            if self._ids is None:
                raise
            return self._ids  # the LLM service is unreachable: the last list still holds
        self._at = time.monotonic()
        return self._ids
