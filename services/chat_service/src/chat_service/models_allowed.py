"""Which models a conversation may name: those the LLM service offers (its ``/v1/models``).

Clients choose a conversation's model; every answer is paid on the operator's upstream key,
so any model the LLM service does not list is refused (``invalid``). The list, with each
model's ``vision`` flag (it takes images), is reused for ``MODELS_CACHE_SECONDS``; when the
LLM service cannot be asked, the last list known is used.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from chatbot_common.errors import InvalidError

ModelEntry = dict[str, Any]


class AllowedModels:
    def __init__(
        self, fetch: Callable[[], Awaitable[list[ModelEntry]]], ttl_seconds: float
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._models: dict[str, ModelEntry] | None = None
        self._at = 0.0

    async def check(self, model: str) -> None:
        if model not in await self._current():
            raise InvalidError(f"model {model!r} is not offered here")

    async def takes_images(self, model: str | None) -> bool:
        """Does ``model`` (None: the LLM service's default, listed first) take images?"""
        models = await self._current()
        entry = models.get(model) if model else next(iter(models.values()), None)
        return bool(entry and entry.get("vision"))

    async def _current(self) -> dict[str, ModelEntry]:
        if self._models is not None and time.monotonic() - self._at < self._ttl:
            return self._models
        try:
            self._models = {m["id"]: m for m in await self._fetch()}
        except Exception:
            if self._models is None:
                raise
            return self._models  # the LLM service is unreachable: the last list still holds
        self._at = time.monotonic()
        return self._models
