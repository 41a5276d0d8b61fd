"""Unit tests of ``redis_gate.RedisGate``: bounded calls, the down flag, the probe's recovery."""

from __future__ import annotations

import asyncio

import pytest
from chat_service.redis_gate import RedisDown, RedisGate
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError


class FakeRedis:
    def __init__(self) -> None:
        self.calls = 0
        self.pings = 0
        self.ping_ok = False

    async def ok(self) -> str:
        self.calls += 1
        return "ok"

    async def refused(self) -> None:
        self.calls += 1
        raise RedisConnectionError("refused")

    async def frozen(self) -> None:
        self.calls += 1
        await asyncio.Event().wait()  # never answers

    async def wrong_type(self) -> None:
        self.calls += 1
        raise ResponseError("WRONGTYPE")

    async def ping(self) -> bool:
        self.pings += 1
        if not self.ping_ok:
            raise RedisConnectionError("refused")
        return True


async def test_a_call_passes_its_result_through() -> None:
    redis = FakeRedis()
    gate = RedisGate(redis.ping, timeout=5)
    assert await gate.call("op", redis.ok) == "ok"
    assert gate.up


@pytest.mark.parametrize("how", ["refused", "frozen"])
async def test_a_failure_marks_redis_down_and_later_calls_fail_at_once(how: str) -> None:
    redis = FakeRedis()
    redis.ping_ok = False
    gate = RedisGate(redis.ping, timeout=0.05, backoff_base=10, backoff_cap=10)
    with pytest.raises(RedisDown):
        await gate.call("op", getattr(redis, how))
    assert not gate.up
    with pytest.raises(RedisDown):
        await gate.call("op", redis.ok)
    assert redis.calls == 1  # the second call never reached Redis
    await gate.aclose()


async def test_an_error_reply_is_not_an_outage() -> None:
    redis = FakeRedis()
    gate = RedisGate(redis.ping, timeout=5)
    with pytest.raises(ResponseError):
        await gate.call("op", redis.wrong_type)
    assert gate.up


async def test_the_probe_finds_redis_again_and_restores_the_records() -> None:
    redis = FakeRedis()
    gate = RedisGate(redis.ping, timeout=5, backoff_base=0.001, backoff_cap=0.001)
    restored: list[bool] = []

    async def restore() -> None:
        restored.append(gate.up)
        assert await gate.call("resync", redis.ok) == "ok"

    gate.on_up(restore)
    with pytest.raises(RedisDown):
        await gate.call("op", redis.refused)
    redis.ping_ok = True
    await asyncio.wait_for(gate.wait_up(), 20)  # the probe found it and ran the callbacks
    assert gate.up
    assert restored == [True]  # calls allowed while the records are restored
    assert await gate.call("op", redis.ok) == "ok"


async def test_a_connection_the_server_closed_is_retried_once_on_a_fresh_one() -> None:
    """A Redis restart while the replica was idle leaves dead pooled connections: the call is
    retried once after the pool drops them, and the gate stays up."""
    redis = FakeRedis()
    reconnects = 0
    failing = [RedisConnectionError("Connection closed by server.")]

    async def reconnect() -> None:
        nonlocal reconnects
        reconnects += 1

    async def stale_then_ok() -> str:
        redis.calls += 1
        if failing:
            raise failing.pop()
        return "ok"

    gate = RedisGate(redis.ping, timeout=5, reconnect=reconnect)
    assert await gate.call("op", stale_then_ok) == "ok"
    assert (redis.calls, reconnects, gate.up) == (2, 1, True)
    # refused twice in a row is an outage: down, after one retry only
    with pytest.raises(RedisDown):
        await gate.call("op", redis.refused)
    assert (redis.calls, reconnects, gate.up) == (4, 2, False)
    await gate.aclose()
