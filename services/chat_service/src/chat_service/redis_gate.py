"""This replica's one Redis policy: one client, bounded calls, one down flag, one probe, one gauge.

Every caller of Redis in the chat service goes through the same ``RedisGate``: the Socket.IO
manager's publishes (``redis_manager.py``), the store of answers in flight (``live.py``) and
the rate limiter's shared windows (``ratelimit.py``). A call is one attempt cut off after
``timeout``; after a failure Redis counts as down (``chat_redis_up`` 0, one warning log) and
every call fails at once (``RedisDown``, counted by caller) until a background PING, repeated
with capped, jittered back-off, finds it again; then the ``on_up`` callbacks put Redis's
records back in line with this replica before the gauge says 1. So no caller waits on Redis
longer than ``timeout``, once per outage: answers stream on from memory, emits reach this
replica's clients, the limiter counts in this process's own windows.

Pub/sub listeners (the manager's, the control channel's) take a connection of the same client;
they report a lost subscription with ``set_down`` and re-subscribe once the gate is up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import redis.asyncio as aioredis
from chatbot_common.backoff import Backoff
from prometheus_client import Counter, Gauge
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)

REDIS_UP = Gauge(
    "chat_redis_up",
    "1 while this replica reaches Redis (rooms across replicas, answers in flight, shared rate "
    "limits), else 0.",
)
SKIPPED = Counter(
    "chat_redis_skipped_total",
    "Calls to Redis given up at once because Redis is down, by call.",
    ["call"],
)
FAILED = Counter(
    "chat_redis_failures_total", "Calls to Redis that failed or were cut off, by call.", ["call"]
)

P = ParamSpec("P")
T = TypeVar("T")


class RedisDown(RedisConnectionError):
    """Redis is (or was just found) unavailable; callers carry on without it."""


def connect(url: str, timeout: float) -> aioredis.Redis:
    """The one client: strings in and out, connects within ``timeout``, one attempt per call
    (the gate bounds it and backs off, never redis-py's retries). No socket read timeout: a
    subscriber may wait long; every command is bounded by the gate instead."""
    return aioredis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=max(timeout, 0.1),
        socket_timeout=None, health_check_interval=10, retry=Retry(NoBackoff(), 0),
    )


class RedisGate:
    def __init__(
        self,
        ping: Callable[[], Awaitable[object]],
        timeout: float,
        backoff_base: float = 0.2,
        backoff_cap: float = 2.0,
        reconnect: Callable[[], Awaitable[object]] | None = None,
        *,
        redis: aioredis.Redis | None = None,
    ) -> None:
        self.redis = redis  # the client every caller uses (None: a unit test's ``ping``)
        self.timeout = timeout
        self.up = True
        self._ping = ping
        self._reconnect = reconnect
        # Equal jitter: at least half of each step, so probes of many replicas spread out.
        self._backoff = Backoff(base=backoff_base, cap=backoff_cap, floor=0.5)
        self._probe: asyncio.Task[None] | None = None
        self._on_up: list[Callable[[], Awaitable[None]]] = []
        self._back = asyncio.Event()
        self._back.set()
        REDIS_UP.set(1)

    @classmethod
    def from_url(
        cls, url: str, timeout: float, backoff_base: float = 0.2, backoff_cap: float = 2.0
    ) -> RedisGate:
        redis = connect(url, timeout)

        async def reconnect() -> None:  # drop the idle connections a restarted Redis closed
            await redis.connection_pool.disconnect(inuse_connections=False)

        return cls(redis.ping, timeout, backoff_base, backoff_cap, reconnect, redis=redis)

    @property
    def client(self) -> aioredis.Redis:
        if self.redis is None:
            raise RuntimeError("this gate has no Redis client")
        return self.redis

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
        """Redis failed ``where``: count it down (once) and probe until it answers again."""
        if self.up:
            self.up = False
            self._back.clear()
            REDIS_UP.set(0)
            log.warning(
                "redis unavailable: this replica serves its own clients until it is back",
                extra={"where": where, "error": repr(exc)},
            )
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(
                self._probe_until_up(), name="redis-probe"
            )

    async def wait_up(self) -> None:
        """Return once Redis is up and, after an outage, the ``on_up`` callbacks have run
        (at once while it is up)."""
        await self._back.wait()

    def backoff(self, failures: int) -> float:
        """The pause before retry number ``failures`` (capped, jittered)."""
        return self._backoff.delay(failures)

    async def _probe_until_up(self) -> None:
        failures = 0
        while not self.up:
            await asyncio.sleep(self.backoff(failures))
            failures += 1
            try:
                async with asyncio.timeout(self.timeout):
                    await self._ping()
            except (RedisError, OSError, TimeoutError):
                continue  # still down: try again later
            self.up = True
            log.info("redis reachable again: restoring this replica's records")
            for callback in self._on_up:
                try:
                    await callback()
                except RedisError as exc:  # down again: the next probe retries
                    log.warning("records not restored", extra={"error": repr(exc)})
                except Exception:
                    log.exception("records not restored")
            if self.up:  # the gauge says Redis is back once the records are restored
                REDIS_UP.set(1)
                self._back.set()

    async def aclose(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        if self.redis is not None:
            await self.redis.aclose()


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
