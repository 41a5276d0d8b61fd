"""The chat service's limits: events per connection, messages and tokens per user, connections.

Built on ``chatbot_common.ratelimit``: with ``REDIS_URL`` set the per-user windows live in
Redis so replicas share them (through this replica's one Redis gate: bounded, and while Redis
is down they fail open to this process's own windows); per-connection rates and connection
counts stay per replica (a connection lives on one replica).
"""

from __future__ import annotations

from typing import Any, Protocol

from chatbot_common.errors import RateLimitedError
from chatbot_common.ratelimit import Limiter, MemoryWindows, WindowStore
from chatbot_common.tokens import is_guest

ANSWERING_EVENTS = ("message.send", "message.edit", "message.regenerate")
DAY = 86_400.0
#: The keys of the budget all guests share (GUEST_MESSAGES_PER_DAY, GUEST_TOKENS_PER_DAY).
GUESTS_MESSAGES, GUESTS_TOKENS = "guests:msg", "guests:tok"


class RateLimiter(Protocol):
    async def check(
        self, user_id: str, event: str, sid: str | None = None,
        tokens_per_day: int | None = None,
    ) -> None:
        """Raise ``RateLimitedError`` when ``user_id`` may not send ``event`` now
        (``tokens_per_day``: this user's own limit, overriding the default)."""

    def connect(self, user_id: str, sid: str) -> None: ...

    def disconnect(self, sid: str) -> None: ...

    async def record_usage(self, user_id: str, usage: dict[str, Any] | None) -> None: ...

    async def aclose(self) -> None: ...


class NoRateLimit:
    async def check(
        self, user_id: str, event: str, sid: str | None = None,
        tokens_per_day: int | None = None,
    ) -> None:
        return None

    def connect(self, user_id: str, sid: str) -> None:
        return None

    def disconnect(self, sid: str) -> None:
        return None

    async def record_usage(self, user_id: str, usage: dict[str, Any] | None) -> None:
        return None

    async def aclose(self) -> None:
        return None


class ChatLimiter:
    def __init__(
        self,
        *,
        events_per_second: int,
        messages_per_minute: int,
        tokens_per_day: int,
        connections_per_user: int,
        messages_window: float = 60.0,
        tokens_window: float = DAY,
        shared_store: WindowStore | None = None,
        guest_messages_per_day: int | None = None,
        guest_tokens_per_day: int | None = None,
    ) -> None:
        self.events_per_second = events_per_second
        self.messages_per_minute = messages_per_minute
        self.tokens_per_day = tokens_per_day
        self.connections_per_user = connections_per_user
        self.messages_window = messages_window
        self.tokens_window = tokens_window
        self.guest_messages_per_day = guest_messages_per_day
        self.guest_tokens_per_day = guest_tokens_per_day
        self.local = Limiter(MemoryWindows())
        self.shared = Limiter(shared_store) if shared_store is not None else self.local
        self._connections: dict[str, set[str]] = {}
        self._user_of: dict[str, str] = {}

    async def check(
        self, user_id: str, event: str, sid: str | None = None,
        tokens_per_day: int | None = None,
    ) -> None:
        if sid is not None:
            await self.local.acquire(
                "ev:" + sid, self.events_per_second, 1.0, what="events on this connection"
            )
        if event in ANSWERING_EVENTS:
            # The token budget first: a refused message must not use a message slot.
            await self.shared.acquire(
                "tok:" + user_id,
                tokens_per_day or self.tokens_per_day,
                self.tokens_window,
                record=False,
                what="tokens",
            )
            guest = is_guest(user_id)
            if guest and self.guest_tokens_per_day is not None:
                await self.shared.acquire(
                    GUESTS_TOKENS, self.guest_tokens_per_day, DAY, record=False,
                    what="tokens used by guests today; sign in to go on",
                )
            await self.shared.acquire(
                "msg:" + user_id, self.messages_per_minute, self.messages_window, what="messages"
            )
            # After the user's own limit: one guest's flood cannot spend everyone's budget.
            if guest and self.guest_messages_per_day is not None:
                await self.shared.acquire(
                    GUESTS_MESSAGES, self.guest_messages_per_day, DAY,
                    what="messages from guests today; sign in to go on",
                )

    def connect(self, user_id: str, sid: str) -> None:
        sids = self._connections.setdefault(user_id, set())
        if len(sids) >= self.connections_per_user:
            raise RateLimitedError("too many open connections for this user", retry_after=5)
        sids.add(sid)
        self._user_of[sid] = user_id

    def disconnect(self, sid: str) -> None:
        user_id = self._user_of.pop(sid, None)
        if user_id is None:
            return
        sids = self._connections.get(user_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._connections[user_id]

    async def record_usage(self, user_id: str, usage: dict[str, Any] | None) -> None:
        """Count an answer's prompt and completion tokens against the user's day."""
        if not usage:
            return
        total = 0
        for name in ("prompt_tokens", "completion_tokens"):
            value = usage.get(name)
            if isinstance(value, int) and value > 0:
                total += value
        await self.shared.add("tok:" + user_id, total, self.tokens_window)
        if is_guest(user_id) and self.guest_tokens_per_day is not None:
            await self.shared.add(GUESTS_TOKENS, total, DAY)

    async def aclose(self) -> None:
        await self.local.aclose()
        if self.shared is not self.local:
            await self.shared.aclose()
