"""Users as the chat service sees them: their record in history (disabled? own daily token
limit?), cached for ``ACCOUNT_CACHE_SECONDS``, and one usage record per finished answer.

A connection refreshes the record (``last_seen``); an admin's update forgets it here (and on
the other replicas through Redis). If the history service does not answer, a user is let in
on what is known (the conversation events will fail anyway) rather than locked out; a connect
waits at most ``CONNECT_LOOKUP_SECONDS`` for that answer (a history service still reconnecting
to its store would otherwise hold every handshake for its whole timeout), and the visit is
recorded when the answer comes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from chatbot_common.backoff import Backoff, retry
from chatbot_common.contract import now_iso
from chatbot_common.errors import ChatbotError, NotFoundError, UnavailableError
from chatbot_common.tokens import User

from .answer import Answer
from .history_client import HistoryClient, Json

log = logging.getLogger(__name__)

#: A usage record is retried while the history service is unavailable: 4 attempts, waits
#: of up to 0.2, 0.4, 0.8 s.
USAGE_ATTEMPTS = 4
USAGE_BACKOFF = Backoff(0.2)


def estimate_tokens(text: str) -> int:
    """The LLM service's estimate (``ceil(utf8 bytes / 3)``) where the upstream gave none."""
    return math.ceil(len(text.encode("utf-8", "surrogatepass")) / 3)


class Accounts:
    def __init__(self, history: HistoryClient, cache_seconds: float,
                 lookup_seconds: float | None = None) -> None:
        self.history = history
        self.cache_seconds = cache_seconds
        self.lookup_seconds = lookup_seconds
        self._cache: dict[str, tuple[float, Json]] = {}
        # at most one visit being recorded per user (a reconnect loop does not pile them up)
        self._visits: dict[str, asyncio.Task[Json | None]] = {}

    async def seen(self, user: User) -> Json | None:
        """Record the connection (last seen, name); the user's record, None if unknown.

        Waits at most ``lookup_seconds``; past that, the cached record (or None) answers and
        the visit is still recorded in the background."""
        visit = self._visits.get(user.id)
        if visit is None:
            visit = asyncio.ensure_future(self._visit(user))
            self._visits[user.id] = visit
            visit.add_done_callback(lambda _: self._visits.pop(user.id, None))
        try:
            return await asyncio.wait_for(asyncio.shield(visit), self.lookup_seconds)
        except TimeoutError:
            log.warning("the user's record was slow to come: connecting on what is known",
                        extra={"waited_seconds": self.lookup_seconds})
            return self._cached(user.id)

    async def visits_recorded(self) -> None:
        """Wait for the visits still being recorded in the background."""
        await asyncio.gather(*self._visits.values())

    async def _visit(self, user: User) -> Json | None:
        body: dict[str, Any] = {"guest": user.guest}
        if user.name:
            body["name"] = user.name
        try:
            record = await self.history.user_seen(user.id, body)
        except ChatbotError as exc:
            log.warning("could not record the user's visit", extra={"error": exc.message})
            return self._cached(user.id)
        self._cache[user.id] = (time.monotonic(), record)
        return record

    async def policy(self, user_id: str) -> Json | None:
        """The user's record, at most ``cache_seconds`` old (None: unknown / store down)."""
        hit = self._cache.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < self.cache_seconds:
            return hit[1]
        try:
            record = await self.history.get_user(user_id)
        except NotFoundError:
            return None
        except ChatbotError:
            return hit[1] if hit else None
        self._cache[user_id] = (time.monotonic(), record)
        return record

    def _cached(self, user_id: str) -> Json | None:
        hit = self._cache.get(user_id)
        return hit[1] if hit else None

    def forget(self, user_id: str) -> None:
        self._cache.pop(user_id, None)

    async def record_answer(self, answer: Answer, status: str) -> None:
        """One usage record per finished answer (idempotent on its message id)."""
        body = usage_record(answer, status)
        if body is None:
            return
        try:
            await retry(
                lambda: self.history.add_usage(body),
                attempts=USAGE_ATTEMPTS, backoff=USAGE_BACKOFF, retry_on=(UnavailableError,),
            )
        except ChatbotError as exc:
            log.error("could not record an answer's usage",
                      extra={"message_id": body["message_id"], "error": exc.message})


def usage_record(answer: Answer, status: str) -> Json | None:
    """The usage record of a finished answer (None: it never got a message)."""
    if answer.message is None:
        return None
    usage = answer.usage or {}
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    return {
        "message_id": answer.message["id"],
        "user_id": answer.user_id,
        "conversation_id": answer.conversation_id,
        "model": answer.model,
        "status": status,
        "prompt_tokens": prompt if isinstance(prompt, int) else 0,
        "completion_tokens": completion if isinstance(completion, int)
        else estimate_tokens(answer.text),
        "ttft_ms": None if answer.ttft is None else round(answer.ttft * 1000, 1),
        "finished_at": now_iso(),
    }
