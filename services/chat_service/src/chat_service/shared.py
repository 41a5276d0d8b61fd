"""The answers' records shared with the other replicas, as the lifecycle sees them.

``SharedAnswers`` is what an answer and the registry call; two implementations:
``RedisShared`` (over ``live.RedisLive``, best effort: a Redis failure is logged and the
answer goes on on this replica, the gate having bounded the call) and ``LocalOnly`` (no
``REDIS_URL``: one replica, nothing to share).
"""

from __future__ import annotations

import logging
from typing import Protocol

from redis.exceptions import RedisError

from .live import LiveAnswer, RedisLive
from .redis_gate import RedisDown

log = logging.getLogger(__name__)


class SharedAnswers(Protocol):
    enabled: bool

    @property
    def up(self) -> bool: ...

    async def claim(self, cid: str, user_id: str) -> bool: ...

    async def attach(self, cid: str, mid: str) -> None: ...

    async def append(self, mid: str, text: str, index: int, parts: list[str]) -> bool: ...

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


class LocalOnly:
    """No Redis: every answer is this replica's alone."""

    enabled = False
    up = True

    async def claim(self, cid: str, user_id: str) -> bool:
        return True

    async def attach(self, cid: str, mid: str) -> None:
        return None

    async def append(self, mid: str, text: str, index: int, parts: list[str]) -> bool:
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


def _unavailable(what: str, exc: RedisError) -> None:
    if isinstance(exc, RedisDown) and exc.__cause__ is None:
        log.debug("redis down: %s skipped", what)  # the gate logged the outage once
    else:
        log.warning("redis unavailable: %s", what, extra={"error": str(exc)})


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
        try:
            return await self.live.claim(cid, user_id)
        except RedisError as exc:
            _unavailable("answering without sharing the answer", exc)
            return True

    async def attach(self, cid: str, mid: str) -> None:
        try:
            await self.live.attach(cid, mid)
        except RedisError as exc:
            _unavailable("attach", exc)

    async def append(self, mid: str, text: str, index: int, parts: list[str]) -> bool:
        try:
            return await self.live.append(mid, text, index, parts)
        except RedisError as exc:
            _unavailable("append", exc)
            return True

    async def hand_over(self, cid: str, mid: str, parts: list[str]) -> bool:
        try:
            return await self.live.hand_over(cid, mid, parts)
        except RedisError as exc:
            _unavailable("hand-over", exc)
            return False

    async def release(self, cid: str, mid: str | None) -> None:
        try:
            await self.live.release(cid, mid)
        except RedisError as exc:  # replayed when Redis is back
            _unavailable("release", exc)

    async def busy(self, cid: str) -> bool:
        try:
            return await self.live.busy(cid)
        except RedisError as exc:
            _unavailable("busy", exc)
            return False

    async def snapshot(self, cid: str) -> LiveAnswer | None:
        try:
            return await self.live.snapshot(cid)
        except RedisError as exc:
            _unavailable("cannot read the live answer", exc)
            return None

    async def holds(self, cid: str, mid: str) -> bool:
        try:
            return await self.live.holds(cid, mid)
        except RedisError as exc:
            _unavailable("holds", exc)
            return False

    async def take_over(self, cid: str) -> LiveAnswer | None:
        try:
            return await self.live.take_over(cid)
        except RedisError as exc:
            _unavailable("take-over", exc)
            return None

    async def drop_lease(self, cid: str) -> None:
        try:
            await self.live.drop_lease(cid)
        except RedisError as exc:
            _unavailable("drop lease", exc)

    async def stop_remote(self, cid: str, status: str, wait_seconds: float) -> bool:
        """Ask the replica answering in ``cid`` to stop and wait until it has let go; False
        if no replica answers there (or Redis cannot tell)."""
        try:
            if not await self.live.busy(cid):
                return False
            await self.live.request_stop(cid, status)
            await self.live.wait_released(cid, wait_seconds)
        except RedisError as exc:
            _unavailable("cannot stop an answer of another replica", exc)
            return False
        return True

    async def renew(self, cid: str) -> bool:
        return await self.live.renew(cid)

    async def resync(self, cid: str, mid: str | None, user_id: str, parts: list[str]) -> bool:
        return await self.live.resync(cid, mid, user_id, parts)

    async def orphans(self) -> list[str]:
        return await self.live.orphans()
