"""python-socketio's Redis manager, made to survive a Redis outage.

The library (5.18) already delivers an emit to this replica's own clients first and then
publishes it, tagged with this manager's ``host_id``; its listener drops its own messages.
What it lacks is a bound on Redis: a publish goes through redis-py's retries with a 5 s socket
timeout, twice, so while Redis is down or frozen every emit (every ``message.delta``) waits
seconds behind it, and its listener reconnects after 1, 2, 4 ... 60 s without jitter.

This manager keeps the library's message format and handlers (``callback``, ``skip_sid``,
``to``, disconnect, enter/leave/close room) and changes only the transport:

* an emit to a client of this replica (its sid as the room) and a disconnect of one is not
  published at all: no other replica has anything to do with it;
* a publish is one attempt bounded by ``publish_timeout``; after a failure Redis counts as down
  and publishes are dropped at once (counted, logged once) until a background PING, repeated
  with capped, jittered back-off, or the listener's re-subscription finds Redis again;
* the listener re-subscribes with capped, jittered back-off of its own.

Local delivery never depends on Redis; while it is down, other replicas miss what is
published (pub/sub keeps nothing), which clients repair with ``conversation.get``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from prometheus_client import Counter, Gauge
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff, NoBackoff

from .emitter import DirectEmit

log = logging.getLogger(__name__)

REDIS_UP = Gauge("chat_redis_up", "1 while this replica's Socket.IO manager reaches Redis, else 0.")
PUBLISH_FAILURES = Counter(
    "chat_redis_publish_failures_total",
    "Socket.IO messages not published to the other replicas, by reason.",
    ["reason"],
)
PUBLISHED = Counter(
    "chat_redis_published_total", "Socket.IO messages published to the other replicas."
)


class ChatRedisManager(socketio.AsyncRedisManager, DirectEmit):
    """Local-first Socket.IO manager whose Redis traffic is bounded and self-healing."""

    name = "chat-redis"

    def __init__(
        self,
        url: str,
        channel: str = "chat-socketio",
        *,
        publish_timeout: float = 0.5,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
    ) -> None:
        super().__init__(url, channel=channel, logger=log)
        self.publish_timeout = publish_timeout
        self._backoff = EqualJitterBackoff(cap=backoff_cap, base=backoff_base)
        self._publisher: aioredis.Redis | None = None
        self._up = True
        self._probe: asyncio.Task[None] | None = None
        REDIS_UP.set(1)

    # -- what to publish -------------------------------------------------------------------

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> Any:
        room = to or room
        if not kwargs.get("ignore_queue") and self._is_local_sid(room, namespace):
            # Addressed to one client of ours: the other replicas have nothing to deliver.
            kwargs["ignore_queue"] = True
        return await super().emit(
            event,
            data,
            namespace=namespace,
            room=room,
            skip_sid=skip_sid,
            callback=callback,
            **kwargs,
        )

    async def disconnect(self, sid: str, namespace: str | None, **kwargs: Any) -> Any:
        if not kwargs.get("ignore_queue") and self._is_local_sid(sid, namespace):
            kwargs["ignore_queue"] = True
        return await super().disconnect(sid, namespace, **kwargs)

    def _is_local_sid(self, room: str | None, namespace: str | None) -> bool:
        return room is not None and bool(self.is_connected(room, namespace or "/"))

    # -- publishing ------------------------------------------------------------------------

    def _client(self, socket_timeout: float | None) -> aioredis.Redis:
        """A client that tries once: back-off is ours, never redis-py's."""
        return aioredis.Redis.from_url(
            self.redis_url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=self.publish_timeout,
            retry=Retry(NoBackoff(), 0),
        )

    async def _publish(self, data: Any) -> None:
        if not self._up:
            PUBLISH_FAILURES.labels("down").inc()
            return
        if self._publisher is None:
            self._publisher = self._client(self.publish_timeout)
        try:
            async with asyncio.timeout(self.publish_timeout):
                await self._publisher.publish(self.channel, self.json.dumps(data))
        except Exception as exc:  # any failure: Redis is unavailable
            PUBLISH_FAILURES.labels("timeout" if isinstance(exc, TimeoutError) else "error").inc()
            self._set_down("publish", exc)
        else:
            PUBLISHED.inc()

    def _set_down(self, where: str, exc: BaseException) -> None:
        if self._up:
            self._up = False
            REDIS_UP.set(0)
            log.warning(
                "redis unavailable: local delivery only until it is back",
                extra={"where": where, "error": repr(exc)},
            )
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_up())

    def _set_up(self, where: str) -> None:
        if not self._up:
            self._up = True
            REDIS_UP.set(1)
            log.info("redis reachable again", extra={"where": where})

    async def _probe_until_up(self) -> None:
        failures = 0
        while not self._up:
            await asyncio.sleep(self._backoff.compute(failures))
            failures += 1
            probe = self._client(self.publish_timeout)
            try:
                async with asyncio.timeout(self.publish_timeout):
                    await probe.ping()
            except Exception:  # still down: try again later
                continue
            finally:
                with contextlib.suppress(Exception):
                    await probe.aclose()
            self._set_up("probe")

    # -- listening -------------------------------------------------------------------------

    async def _redis_listen_with_retries(self) -> AsyncIterator[dict[str, Any]]:
        failures = 0
        while True:
            # No read timeout: the channel may stay silent for long.
            client = self._client(None)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(self.publish_timeout * 4):
                    await pubsub.subscribe(self.channel)
                failures = 0
                self._set_up("subscribe")
                async for message in pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect below
                self._set_down("listen", exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            delay = self._backoff.compute(failures)
            failures += 1
            log.debug("redis listener reconnects", extra={"in_seconds": round(delay, 3)})
            await asyncio.sleep(delay)

    async def _listen(self) -> AsyncIterator[bytes]:
        channel = self.channel.encode("utf-8")
        async for message in self._redis_listen_with_retries():
            if message.get("channel") == channel and message.get("type") == "message":
                yield message["data"]

    # -- lifespan --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop the listener and the probe, close the publishing client."""
        for task in (getattr(self, "thread", None), self._probe):
            if isinstance(task, asyncio.Task) and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.aclose()
            self._publisher = None
