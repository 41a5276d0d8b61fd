"""Replica chores with Redis: renew the leases of our answers, take over the answers of replicas
that died or handed them over, and follow stop requests from other replicas. Each loop only
calls the registry's public methods; each survives Redis outages with capped, jittered back-off
(the gate's), and the gate's probe restores our records when Redis is back."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from .live import RedisLive
from .registry import AnswerRegistry

log = logging.getLogger(__name__)


async def _every(
    live: RedisLive, period: float, job: Callable[[], Awaitable[None]], name: str
) -> None:
    """``job`` every ``period`` (jittered: replicas out of step), backing off while it fails."""
    failures = 0
    while True:
        pause = period if failures == 0 else max(period, live.gate.backoff(failures))
        await asyncio.sleep(pause * random.uniform(0.75, 1.25))
        try:
            await job()
            failures = 0
        except (RedisError, OSError) as exc:
            log.debug("%s: redis unavailable", name, extra={"error": str(exc)})
            failures += 1


async def heartbeat(answers: AnswerRegistry, live: RedisLive, period: float) -> None:
    """Renew our leases; restore the records Redis lost or missed (restart, outage)."""

    async def beat() -> None:
        if live.up:  # while down the gate's probe waits for Redis, then the full resync
            await answers.resync(renew_first=True)

    async def full() -> None:
        await answers.resync(renew_first=False)

    live.gate.on_up(full)
    await _every(live, period, beat, "heartbeat")


async def take_over(answers: AnswerRegistry, live: RedisLive, period: float) -> None:
    """Take over answers whose replica stopped renewing its lease."""
    await _every(live, period, answers.take_over_orphans, "take-over")


async def follow_control(
    answers: AnswerRegistry,
    live: RedisLive,
    on_user: Callable[[str], Awaitable[None]] | None = None,
) -> None:
    """Stop requests for our answers; hand-overs from replicas shutting down; users an
    admin changed (``on_user``)."""

    async def on_handover(cid: str) -> None:
        try:
            await answers.take_over(cid)
        except RedisError as exc:
            log.warning("hand-over: redis unavailable", extra={"error": str(exc)})

    await live.listen(answers.on_remote_stop, on_handover, on_user)
