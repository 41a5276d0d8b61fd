"""The answers' records shared with the other replicas, as the lifecycle sees them.

``SharedAnswers`` is what an answer and the registry call; two implementations:
``RedisShared`` (over ``live.RedisLive``, best effort: a Redis failure is logged and the
answer goes on on this replica, the gate having bounded the call) and ``LocalOnly`` (no
``REDIS_URL``: one replica, nothing to share).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import NamedTuple, Protocol, TypeVar

from redis.exceptions import RedisError

from .live import LiveAnswer, RedisLive
from .redis_gate import RedisDown
from .redis_manager import PUBLISHED, publish_failed

log = logging.getLogger(__name__)

T = TypeVar("T")


class SharedAnswers(Protocol):
    enabled: bool

    @property
    def up(self) -> bool: ...

    async def claim(self, cid: str, user_id: str) -> bool: ...

    async def attach(self, cid: str, mid: str) -> None: ...

    async def append(self, mid: str, text: str, index: int, parts: list[str],
                     publish: tuple[str, str] | None = None) -> bool: ...

    async def hand_over(self, cid: str, mid: str, parts: list[str]) -> bool: ...

    async def release(self, cid: str, mid: str | None) -> None: ...

    async def busy(self, cid: str) -> bool: ...

    async def snapshot(self, cid: str) -> LiveAnswer | None: ...

    async def holds(self, cid: str, mid: str) -> bool: ...

    async def take_over(self, cid: str) -> LiveAnswer | None: ...

    async def drop_lease(self, cid: str) -> None: ...

    async def stop_remote(self, cid: str, status: str, wait_seconds: float) -> bool: ...

    async def renew(self, cid: str) -> bool: ...

    async def resync(self, cid: str, mid: str | None, user_id: str, parts: list[str]) -> bool:
        ...

    async def orphans(self) -> list[str]: ...

    async def orphan(self, cid: str, mid: str, *, take: bool) -> Orphan: ...


class Orphan(NamedTuple):
    """What Redis says of a ``streaming`` message no answer of this replica owns:
    ``taken`` (this replica holds its lease now: ``snap``), ``owned`` (another replica owns it,
    or is about to take it), ``free`` (no trace: nobody streams it) or ``unknown`` (Redis cannot
    tell: down, or slower than the gate's bound)."""

    state: str
    snap: LiveAnswer | None = None


class LocalOnly:
    """No Redis: every answer is this replica's alone."""

    enabled = False
    up = True

    async def claim(self, cid: str, user_id: str) -> bool:
        return True

    async def attach(self, cid: str, mid: str) -> None:
        return None

    async def append(self, mid: str, text: str, index: int, parts: list[str],
                     publish: tuple[str, str] | None = None) -> bool:
        return True

    async def hand_over(self, cid: str, mid: str, parts: list[str]) -> bool:
        return False

    async def release(self, cid: str, mid: str | None) -> None:
        return None

    async def busy(self, cid: str) -> bool:
        return False

    async def snapshot(self, cid: str) -> LiveAnswer | None:
        return None

    async def holds(self, cid: str, mid: str) -> bool:
        return False

    async def take_over(self, cid: str) -> LiveAnswer | None:
        return None

    async def drop_lease(self, cid: str) -> None:
        return None

    async def stop_remote(self, cid: str, status: str, wait_seconds: float) -> bool:
        return False

    async def renew(self, cid: str) -> bool:
        return True

    async def resync(self, cid: str, mid: str | None, user_id: str, parts: list[str]) -> bool:
        return True

    async def orphans(self) -> list[str]:
        return []

    async def orphan(self, cid: str, mid: str, *, take: bool) -> Orphan:
        return Orphan("free")


class RedisShared:
    """Best effort over ``RedisLive``: a failure never stops an answer (the gate bounds every
    call; the records are resynced when Redis is back)."""

    enabled = True

    def __init__(self, live: RedisLive) -> None:
        self.live = live

    @property
    def up(self) -> bool:
        return self.live.up

    async def claim(self, cid: str, user_id: str) -> bool:
        # Redis down: answer on this replica alone.
        return await _best("answering without sharing the answer",
                           self.live.claim(cid, user_id), True)

    async def attach(self, cid: str, mid: str) -> None:
        await _best("attach", self.live.attach(cid, mid), None)

    async def append(self, mid: str, text: str, index: int, parts: list[str],
                     publish: tuple[str, str] | None = None) -> bool:
        try:
            appended = await self.live.append(mid, text, index, parts, publish)
        except RedisError as exc:
            _log_unavailable("append", exc)
            if publish is not None:  # the delta's publish went with it (redis_manager.py)
                publish_failed(exc)
            return True
        if appended and publish is not None:
            PUBLISHED.inc()
        return appended

    async def hand_over(self, cid: str, mid: str, parts: list[str]) -> bool:
        return await _best("hand-over", self.live.hand_over(cid, mid, parts), False)

    async def release(self, cid: str, mid: str | None) -> None:
        # A release Redis missed is replayed when it is back (``RedisLive``).
        await _best("release", self.live.release(cid, mid), None)

    async def busy(self, cid: str) -> bool:
        return await _best("busy", self.live.busy(cid), False)

    async def snapshot(self, cid: str) -> LiveAnswer | None:
        return await _best("cannot read the live answer", self.live.snapshot(cid), None)

    async def holds(self, cid: str, mid: str) -> bool:
        return await _best("holds", self.live.holds(cid, mid), False)

    async def take_over(self, cid: str) -> LiveAnswer | None:
        return await _best("take-over", self.live.take_over(cid), None)

    async def drop_lease(self, cid: str) -> None:
        await _best("drop lease", self.live.drop_lease(cid), None)

    async def stop_remote(self, cid: str, status: str, wait_seconds: float) -> bool:
        """Ask the replica answering in ``cid`` to stop and wait until it has let go; False
        if no replica answers there (or Redis cannot tell)."""

        async def stop() -> bool:
            if not await self.live.busy(cid):
                return False
            await self.live.request_stop(cid, status)
            await self.live.wait_released(cid, wait_seconds)
            return True

        return await _best("cannot stop an answer of another replica", stop(), False)

    # The heartbeat's and the take-over scan's calls: failures raise (they back off).
    async def renew(self, cid: str) -> bool:
        return await self.live.renew(cid)

    async def resync(self, cid: str, mid: str | None, user_id: str, parts: list[str]) -> bool:
        return await self.live.resync(cid, mid, user_id, parts)

    async def orphans(self) -> list[str]:
        return await self.live.orphans()

    async def orphan(self, cid: str, mid: str, *, take: bool) -> Orphan:
        try:
            snap = await self.live.take_over(cid) if take else None
            if snap is not None:
                return Orphan("taken", snap)
            return Orphan("owned" if await self.live.holds(cid, mid) else "free")
        except RedisError as exc:
            _log_unavailable("orphan check", exc)
            return Orphan("unknown")


async def _best(what: str, op: Awaitable[T], default: T) -> T:
    """``await op``; on a Redis failure log it (once per outage: the gate logged the outage,
    a skipped call only at debug level) and return ``default``."""
    try:
        return await op
    except RedisError as exc:
        _log_unavailable(what, exc)
        return default


def _log_unavailable(what: str, exc: RedisError) -> None:
    if isinstance(exc, RedisDown) and exc.__cause__ is None:
        log.debug("redis down: %s skipped", what)
    else:
        log.warning("redis unavailable: %s", what, extra={"error": str(exc)})
