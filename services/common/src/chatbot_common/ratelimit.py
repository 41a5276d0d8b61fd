"""Sliding-window limits: in memory per process, or in Redis so that replicas share them.

A window counts *costs* (1 per event, or a number of tokens) recorded in the last ``window``
seconds under a key. ``acquire`` admits a cost when the total would stay within the limit
(recording it unless ``record=False``) and otherwise raises ``RateLimitedError`` carrying
``retry_after``: the seconds until enough of the window has expired to admit it.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .errors import RateLimitedError

log = logging.getLogger(__name__)


class WindowStore(Protocol):
    async def take(
        self, key: str, limit: int | None, window: float, cost: int, record: bool
    ) -> float | None:
        """Admit (and record) ``cost``, returning None; or the seconds to wait."""

    async def aclose(self) -> None: ...


class MemoryWindows:
    """Sliding-window logs in this process; keys idle for a whole window are dropped."""

    def __init__(self, clock: Any = time.monotonic, sweep_every: int = 1000) -> None:
        self._clock = clock
        self._logs: dict[str, tuple[float, deque[tuple[float, int]]]] = {}
        self._calls = 0
        self._sweep_every = sweep_every

    async def take(
        self, key: str, limit: int | None, window: float, cost: int, record: bool
    ) -> float | None:
        now = self._clock()
        self._calls += 1
        if self._calls % self._sweep_every == 0:
            self._sweep(now)
        _, entries = self._logs.get(key, (window, deque()))
        while entries and entries[0][0] <= now - window:
            entries.popleft()
        used = sum(c for _, c in entries)
        if limit is not None and used + cost > limit:
            return _wait(((t, c) for t, c in entries), used, cost, limit, window, now)
        if record and cost > 0:
            entries.append((now, cost))
        if entries:
            self._logs[key] = (window, entries)
        else:
            self._logs.pop(key, None)
        return None

    def _sweep(self, now: float) -> None:
        for key, (window, entries) in list(self._logs.items()):
            if not entries or entries[-1][0] <= now - window:
                del self._logs[key]

    async def aclose(self) -> None:
        self._logs.clear()


def _wait(
    entries: Any, used: int, cost: int, limit: int, window: float, now: float
) -> float:
    """Seconds until the oldest entries expire far enough to admit ``cost``."""
    freed = 0
    for t, c in entries:
        freed += c
        if used - freed + cost <= limit:
            return max(0.001, float(t) + window - now)
    return window  # a cost above the limit itself: never admitted; say "a whole window"


# Sliding-window log in a sorted set: members "cost:unique", scores = time in seconds.
_TAKE_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local record = ARGV[5] == '1'
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #entries, 2 do
  used = used + tonumber(string.match(entries[i], '^(%d+):'))
end
if limit >= 0 and used + cost > limit then
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + tonumber(string.match(entries[i], '^(%d+):'))
    if used - freed + cost <= limit then
      return tostring(tonumber(entries[i + 1]) + window - now)
    end
  end
  return tostring(window)
end
if record and cost > 0 then
  redis.call('ZADD', key, now, cost .. ':' .. ARGV[6])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
end
return '-1'
"""


class RedisWindows:
    """The same windows in Redis (one Lua script per call, atomic across replicas).

    Scores are wall-clock seconds of the calling replica (replicas run NTP-synced clocks).
    When Redis fails, the call falls back to this process's own windows (fails open to
    per-process limits rather than blocking every user) and logs it once per outage.

    ``client`` and ``call``: a caller's own Redis client and its bounded call
    (``call(where, fn, *args, **kwargs)``, e.g. the chat service's ``RedisGate.call``, which
    fails at once while Redis is down); without them a client of ``url`` of its own.
    """

    def __init__(
        self,
        url: str | None = None,
        prefix: str = "chatbot:rl:",
        *,
        client: Any = None,
        call: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self._owns_client = client is None
        if client is None:
            if url is None:
                raise ValueError("RedisWindows needs a url or a client")
            import redis.asyncio as redis_asyncio  # the chat service's dependency, not common's

            client = redis_asyncio.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._redis: Any = client
        self._call = call
        self._script = self._redis.register_script(_TAKE_SCRIPT)
        self._prefix = prefix
        self._fallback = MemoryWindows()
        self._degraded = False

    async def take(
        self, key: str, limit: int | None, window: float, cost: int, record: bool
    ) -> float | None:
        keys = [self._prefix + key]
        args = [repr(time.time()), repr(float(window)), -1 if limit is None else limit, cost,
                "1" if record else "0", uuid.uuid4().hex]
        try:
            if self._call is not None:
                result = await self._call("ratelimit", self._script, keys=keys, args=args)
            else:
                result = await self._script(keys=keys, args=args)
        except Exception as exc:
            if not self._degraded:
                self._degraded = True
                log.warning(
                    "rate limit store unavailable; limiting per replica", extra={"why": str(exc)}
                )
            return await self._fallback.take(key, limit, window, cost, record)
        if self._degraded:
            self._degraded = False
            log.info("rate limit store reachable again")
        wait = float(result.decode() if isinstance(result, bytes) else result)
        return None if wait < 0 else max(0.001, wait)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


class Limiter:
    """Named sliding windows over a store; raises ``RateLimitedError`` with ``retry_after``."""

    def __init__(self, store: WindowStore) -> None:
        self.store = store

    async def acquire(
        self,
        key: str,
        limit: int,
        window: float,
        *,
        cost: int = 1,
        record: bool = True,
        what: str = "requests",
    ) -> None:
        wait = await self.store.take(key, limit, window, cost, record)
        if wait is not None:
            retry_after = math.ceil(wait * 1000) / 1000
            raise RateLimitedError(
                f"too many {what}; retry in {retry_after:g} s", retry_after=retry_after
            )

    async def add(self, key: str, cost: int, window: float) -> None:
        """Record ``cost`` without a limit (e.g. tokens an answer used)."""
        if cost > 0:
            await self.store.take(key, None, window, cost, True)

    async def aclose(self) -> None:
        await self.store.aclose()


def window_store(redis_url: str | None) -> WindowStore:
    return RedisWindows(redis_url) if redis_url else MemoryWindows()
