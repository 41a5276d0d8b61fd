"""python-socketio's Redis manager, made to survive a Redis outage.

The library (5.18) already delivers an emit to this replica's own clients first and then
publishes it, tagged with this manager's ``host_id``; its listener drops its own messages.
What it lacks is a bound on Redis: a publish goes through redis-py's retries with a 5 s socket
timeout, twice, so while Redis is down or frozen every emit (every ``message.delta``) waits
seconds behind it, and its listener reconnects after 1, 2, 4 ... 60 s without jitter.

This manager keeps the library's message format and handlers (``callback``, ``skip_sid``,
``to``, disconnect, enter/leave/close room) and changes only the transport, through the
library's override points ``_publish``, ``_redis_listen_with_retries`` and ``_listen`` (private
names: the python-socketio pin and
``services/chat_service/tests/test_socketio_hooks.py`` keep them honest):

* an emit to a client of this replica (its sid as the room) and a disconnect of one is not
  published at all: no other replica has anything to do with it;
* a publish goes through this replica's one Redis gate (``redis_gate.RedisGate``): one attempt
  bounded by the gate's timeout, dropped at once (counted) while Redis is down;
* the listener takes a connection of the gate's client; a lost subscription marks Redis down,
  and it subscribes again once the gate's probe has found Redis back.

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
from prometheus_client import Counter
from redis.exceptions import RedisError

from .emitter import DirectEmit
from .redis_gate import RedisGate

log = logging.getLogger(__name__)

PUBLISH_FAILURES = Counter(
    "chat_redis_publish_failures_total",
    "Socket.IO messages not published to the other replicas, by reason.",
    ["reason"],
)
PUBLISHED = Counter(
    "chat_redis_published_total", "Socket.IO messages published to the other replicas."
)


def publish_failed(exc: RedisError) -> None:
    """Count a message not published: skipped (Redis down), timed out, or failed."""
    cause = exc.__cause__
    reason = "down" if cause is None else (
        "timeout" if isinstance(cause, TimeoutError) else "error")
    PUBLISH_FAILURES.labels(reason).inc()


class ChatRedisManager(socketio.AsyncRedisManager, DirectEmit):
    """Local-first Socket.IO manager whose Redis traffic is bounded and self-healing."""

    name = "chat-redis"

    def __init__(self, gate: RedisGate, channel: str = "chat-socketio") -> None:
        # The URL is the library's; every Redis call here goes through ``gate``'s client.
        super().__init__("redis://", channel=channel, logger=log)
        self.gate = gate

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

    def publication(
        self, event: str, data: Any, room: str, namespace: str = "/"
    ) -> tuple[str, str]:
        """The (channel, message) ``emit`` would publish for a callback-less, non-binary
        emit, in the library's format: for the answer's delta, published by the same atomic
        Redis step that stores it (``live.RedisLive.append``); it is then emitted here with
        ``ignore_queue``, to this replica's clients only."""
        message = {"method": "emit", "event": event, "data": [data], "binary": False,
                   "namespace": namespace, "room": room, "skip_sid": None, "callback": None,
                   "host_id": self.host_id}
        return self.channel, self.json.dumps(message)

    # -- publishing ------------------------------------------------------------------------

    async def _publish(self, data: Any) -> None:
        try:
            await self.gate.call(
                "publish", self.gate.client.publish, self.channel, self.json.dumps(data)
            )
        except RedisError as exc:  # RedisDown: skipped (down), or cut off / failed just now
            publish_failed(exc)
        else:
            PUBLISHED.inc()

    # -- listening -------------------------------------------------------------------------

    async def _redis_listen_with_retries(self) -> AsyncIterator[dict[str, Any]]:
        failures = 0
        while True:
            await self.gate.wait_up()
            pubsub = self.gate.client.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(self.gate.timeout * 4):
                    await pubsub.subscribe(self.channel)
                failures = 0
                async for message in pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # subscribe again once Redis is back
                self.gate.set_down("listen", exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            delay = self.gate.backoff(failures)
            failures += 1
            log.debug("redis listener subscribes again", extra={"in_seconds": round(delay, 3)})
            await asyncio.sleep(delay)

    async def _listen(self) -> AsyncIterator[str]:
        async for message in self._redis_listen_with_retries():
            if message.get("channel") == self.channel and message.get("type") == "message":
                yield message["data"]

    # -- lifespan --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop the listener (the gate closes the client)."""
        task = getattr(self, "thread", None)
        if isinstance(task, asyncio.Task) and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
