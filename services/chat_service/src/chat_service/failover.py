"""Replica chores with Redis: renew the leases of our answers, take over the answers of replicas
that died or handed them over, and follow stop requests from other replicas. Each loop survives
Redis restarts with capped, jittered back-off."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from .answers import AnswerManager
from .live import RedisLive
from .takeover import adopt

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


async def _every(
    period: float, job: Callable[[], Awaitable[None]], name: str
) -> None:
    delay = period
    while True:
        await asyncio.sleep(delay * (0.75 + random.random() / 2))
        try:
            await job()
            delay = period
        except (RedisError, OSError) as exc:
            log.warning("%s: redis unavailable", name, extra={"error": str(exc)})
            delay = min(max(delay, 0.5) * 2, MAX_BACKOFF)


async def resync(answers: AnswerManager, live: RedisLive, *, renew_first: bool) -> None:
    """Renew our leases (``renew_first``); rewrite the record of each answer whose lease Redis
    forgot (restart) or, with ``renew_first`` False, of every one (back after an outage: the
    deltas streamed meanwhile from memory)."""
    for answer in answers.local():
        cid = answer.conversation_id
        if not answers.owns(answer) or (renew_first and await live.renew(cid)):
            continue  # finished, handed over or let go meanwhile; or renewed
        mid = answer.message["id"] if answer.message else None
        if await live.resync(cid, mid, answer.user_id, list(answer.parts)):
            if not answers.owns(answer):  # it ended while the lease came back
                await live.release(cid, mid)
                continue
            log.info("answer's record restored", extra={"conversation_id": cid,
                                                        "next_index": answer.next_index})
        else:  # another replica continues it (we were presumed dead): let it go
            log.warning("lease taken by another replica", extra={"conversation_id": cid})
            answer.abandon()


async def heartbeat(answers: AnswerManager, live: RedisLive, period: float) -> None:
    """Renew our leases; restore the records Redis lost or missed (restart, outage)."""

    async def beat() -> None:
        if live.up:  # while down the gate's probe waits for Redis, then the full resync
            await resync(answers, live, renew_first=True)

    async def full() -> None:
        await resync(answers, live, renew_first=False)

    live.gate.on_up(full)
    await _every(period, beat, "heartbeat")


async def take_over(answers: AnswerManager, live: RedisLive, period: float) -> None:
    """Take over answers whose replica stopped renewing its lease."""

    async def scan() -> None:
        if answers.draining or not live.up:
            return
        for cid in await live.orphans():
            await claim(answers, live, cid)

    await _every(period, scan, "take-over")


async def claim(answers: AnswerManager, live: RedisLive, cid: str) -> None:
    """Take over the answer in ``cid`` if it has no owner (at most one replica wins)."""
    if answers.draining or answers.in_flight(cid) is not None:
        return
    snap = await live.take_over(cid)
    if snap is not None:
        await adopt(answers, snap)


async def follow_control(
    answers: AnswerManager,
    live: RedisLive,
    on_user: Callable[[str], Awaitable[None]] | None = None,
) -> None:
    """Stop requests for our answers; hand-overs from replicas shutting down; users an
    admin changed (``on_user``)."""

    async def on_handover(cid: str) -> None:
        try:
            await claim(answers, live, cid)
        except RedisError as exc:
            log.warning("hand-over: redis unavailable", extra={"error": str(exc)})

    await live.listen(answers.on_remote_stop, on_handover, on_user)
