"""Whether Redis answers this replica's store of answers in flight (``live.RedisLive``).

The same policy as the Socket.IO manager (``redis_manager.py``), for the store: every call is
one attempt cut off after ``timeout``; after a failure Redis counts as down and calls fail at
once (``RedisDown``, counted) until a background PING, repeated with capped, jittered back-off,
finds it again; then the ``on_up`` callbacks put Redis's record back in line with this replica.
So an answer's deltas wait on Redis at most ``timeout``, once per outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from prometheus_client import Counter, Gauge
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)

LIVE_UP = Gauge(
    "chat_live_redis_up", "1 while this replica's store of answers in flight reaches Redis."
)
SKIPPED = Counter(
    "chat_live_redis_skipped_total",
    "Calls to the answers' Redis store given up at once because Redis is down, by call.",
    ["call"],
)
FAILED = Counter(
    "chat_live_redis_failures_total",
    "Calls to the answers' Redis store that failed or were cut off, by call.",
    ["call"],
)

P = ParamSpec("P")
T = TypeVar("T")


class RedisDown(RedisConnectionError):
    """Redis is (or was just found) unavailable; callers carry on without it."""


class RedisGate:
    def __init__(
        self,
        ping: Callable[[], Awaitable[object]],
        timeout: float,
        backoff_base: float = 0.2,
        backoff_cap: float = 2.0,
        reconnect: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.timeout = timeout
        self.up = True
        self._ping = ping
        self._reconnect = reconnect
        self._backoff = EqualJitterBackoff(cap=backoff_cap, base=backoff_base)
        self._probe: asyncio.Task[None] | None = None
        self._on_up: list[Callable[[], Awaitable[None]]] = []
        LIVE_UP.set(1)

    def on_up(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` each time Redis is found again after an outage."""
        self._on_up.append(callback)

    async def call(
        self, where: str, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(*args)`` within ``timeout``; ``RedisDown`` at once while Redis is down.

        A connection the server closed (Redis restarted while this replica was idle) is
        retried once, within the same bound, after ``reconnect`` drops the pool's idle
        connections, which died with it: a restart alone is not an outage."""
        if not self.up:
            SKIPPED.labels(where).inc()
            raise RedisDown(f"redis down ({where} skipped)")
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    return await fn(*args, **kwargs)
                except RedisConnectionError:
                    if self._reconnect is None:
                        raise
                    await self._reconnect()
                    return await fn(*args, **kwargs)
        except ResponseError:  # Redis answered: a bug of ours, not an outage
            raise
        except (RedisError, OSError, TimeoutError) as exc:
            FAILED.labels(where).inc()
            self.set_down(where, exc)
            raise RedisDown(f"redis unavailable ({where}): {exc!r}") from exc

    def set_down(self, where: str, exc: BaseException) -> None:
        if self.up:
            self.up = False
            LIVE_UP.set(0)
            log.warning(
                "redis unavailable: answers stream on this replica only until it is back",
                extra={"where": where, "error": repr(exc)},
            )
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_up())

    async def _probe_until_up(self) -> None:
        failures = 0
        while not self.up:
            await asyncio.sleep(self._backoff.compute(failures))
            failures += 1
            try:
                async with asyncio.timeout(self.timeout):
                    await self._ping()
            except (RedisError, OSError, TimeoutError):
                continue  # still down: try again later
            self.up = True
            log.info("redis reachable again: restoring the answers' records")
            for callback in self._on_up:
                try:
                    await callback()
                except RedisError as exc:  # down again: the next probe retries
                    log.warning("answers' records not restored", extra={"error": repr(exc)})
                except Exception:
                    log.exception("answers' records not restored")
            if self.up:  # the gauge says Redis is back once the records are restored
                LIVE_UP.set(1)

    async def aclose(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe


class _Gated(Protocol):
    gate: RedisGate


S = TypeVar("S", bound=_Gated)


def gated(
    method: Callable[Concatenate[S, P], Awaitable[T]],
) -> Callable[Concatenate[S, P], Awaitable[T]]:
    """A method of a ``gate``-holding object run through ``gate.call``."""

    @functools.wraps(method)
    async def run(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.gate.call(method.__name__, method, self, *args, **kwargs)

    return run
