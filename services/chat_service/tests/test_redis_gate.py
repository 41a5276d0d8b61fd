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
    probe = gate._probe
    assert probe is not None
    await probe
    assert gate.up
    assert restored == [True]  # calls allowed while the records are restored
    assert await gate.call("op", redis.ok) == "ok"
