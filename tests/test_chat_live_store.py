"""The chat service's store of answers in flight (``live.RedisLive``) on a real redis-server
that is frozen (SIGSTOP) and thawed: calls are cut off and then skipped while it is down; when
it is back, releases it missed are replayed and an answer's record is resynchronised."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator

import pytest
from chat_service.live import RedisLive
from chat_service.redis_gate import RedisDown, RedisGate

from tests.support.processes import Proc, free_port
from tests.test_chat_replicas import start_redis


@pytest.fixture(scope="module")
def redis() -> Iterator[Proc]:
    proc = start_redis(free_port())
    yield proc
    proc.stop()


@pytest.fixture
async def live(redis: Proc) -> AsyncIterator[RedisLive]:
    gate = RedisGate.from_url(f"redis://127.0.0.1:{redis.port}/0", timeout=0.3,
                              backoff_base=0.05, backoff_cap=0.2)
    yield RedisLive(gate, "me", lease_seconds=30)
    await gate.aclose()


async def back(live: RedisLive) -> None:
    """Wait for the gate's probe: Redis found again and the on-up callbacks run."""
    await asyncio.wait_for(live.gate.wait_up(), 20)
    assert live.up


async def test_frozen_redis_then_records_restored(redis: Proc, live: RedisLive) -> None:
    other = RedisLive(RedisGate.from_url(f"redis://127.0.0.1:{redis.port}/0", timeout=0.5),
                      "other", lease_seconds=30)
    try:
        # Answer 1 ends while Redis is frozen; answer 2 (another conversation) streams on.
        assert await live.claim("c1", "u") and await live.claim("c2", "u")
        await live.attach("c1", "m1")
        await live.attach("c2", "m2")
        assert await live.append("m2", "a", 0, [])
        os.kill(redis.pid, signal.SIGSTOP)
        try:
            with pytest.raises(RedisDown):
                await live.append("m2", "b", 1, ["a"])  # cut off after op_timeout
            assert not live.up
            with pytest.raises(RedisDown):
                await live.append("m2", "c", 2, ["a", "b"])  # skipped at once
            with pytest.raises(RedisDown):
                await live.release("c1", "m1")  # remembered for later
        finally:
            os.kill(redis.pid, signal.SIGCONT)
        parts = ["a", "b", "c"]

        async def resync() -> None:
            assert await live.resync("c2", "m2", "u", parts)

        live.gate.on_up(resync)
        await back(live)
        assert await other.snapshot("c1") is None  # the missed release was replayed
        assert not await other.busy("c1")
        snap = await other.snapshot("c2")
        assert snap is not None
        assert (snap.message_id, snap.owner, snap.parts) == ("m2", "me", parts)
        # The list grew only: the next append lands at its index.
        assert await live.append("m2", "d", 3, parts)
        # Another replica holding the lease: not ours to restore.
        await other.redis.set("chat:lease:c2", "other")
        assert not await live.resync("c2", "m2", "u", [*parts, "d"])
    finally:
        await other.gate.aclose()


async def test_an_append_repeated_after_a_lost_reply_is_not_a_take_over(live: RedisLive) -> None:
    """The gate retries a call whose connection broke; the first attempt may have stored the
    delta already. The same delta again at the same index is success, not "list longer"."""
    assert await live.append("m-retry", "a", 0, [])
    assert await live.append("m-retry", "b", 1, ["a"])
    assert await live.append("m-retry", "b", 1, ["a"])  # the retry: stored once
    assert await live.redis.lrange("chat:deltas:m-retry", 0, -1) == ["a", "b"]
    assert not await live.append("m-retry", "x", 1, ["a"])  # another text there: taken over
