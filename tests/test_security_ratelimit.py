"""The sliding-window limiter (chatbot_common.ratelimit): in memory and in a real Redis."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from chatbot_common.errors import RateLimitedError
from chatbot_common.ratelimit import Limiter, MemoryWindows, RedisWindows

from tests.support.chat_client import ChatClient
from tests.support.processes import Proc, free_port, start_process, start_service
from tests.support.stack import start_stack


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_window_admits_up_to_the_limit_then_says_when() -> None:
    clock = Clock()
    limiter = Limiter(MemoryWindows(clock=clock))
    for _ in range(3):
        await limiter.acquire("k", 3, 10.0)
    clock.now += 4
    with pytest.raises(RateLimitedError) as caught:
        await limiter.acquire("k", 3, 10.0)
    assert caught.value.code == "rate_limited"
    assert caught.value.details["retry_after"] == pytest.approx(6.0)
    clock.now += 6.0
    await limiter.acquire("k", 3, 10.0)  # the oldest entries left the window
    await limiter.acquire("other", 3, 10.0)  # keys are independent


async def test_memory_costs_budget_and_check_without_recording() -> None:
    clock = Clock()
    limiter = Limiter(MemoryWindows(clock=clock))
    await limiter.add("tok", 60, 100.0)
    clock.now += 10
    await limiter.add("tok", 40, 100.0)
    # used 100 of 100: a check (not recorded) is refused until the first 60 expire
    with pytest.raises(RateLimitedError) as caught:
        await limiter.acquire("tok", 100, 100.0, record=False)
    assert caught.value.details["retry_after"] == pytest.approx(90.0)
    clock.now += 90
    await limiter.acquire("tok", 100, 100.0, record=False)
    await limiter.acquire("tok", 100, 100.0, record=False)  # nothing recorded by checks


async def test_memory_windows_forget_idle_keys() -> None:
    clock = Clock()
    store = MemoryWindows(clock=clock, sweep_every=10)
    limiter = Limiter(store)
    for i in range(9):
        await limiter.acquire(f"k{i}", 5, 1.0)
    clock.now += 2
    await limiter.acquire("last", 5, 1.0)  # the 10th call sweeps
    # White-box: the sweep leaves no public trace.
    assert set(store._logs) == {"last"}  # noqa: SLF001


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is installed by make test (Debian package redis-server)"
    port = free_port()
    proc = start_process(
        "redis",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis"))],
        port=port,
        health_path=None,
    )
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def redis_limiters(redis_server: Proc) -> AsyncIterator[tuple[Limiter, Limiter]]:
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    a, b = Limiter(RedisWindows(url)), Limiter(RedisWindows(url))
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_redis_windows_are_shared_between_replicas(
    redis_limiters: tuple[Limiter, Limiter],
) -> None:
    a, b = redis_limiters
    await a.acquire("user-1", 2, 30.0)
    await b.acquire("user-1", 2, 30.0)
    for limiter in (a, b):
        with pytest.raises(RateLimitedError) as caught:
            await limiter.acquire("user-1", 2, 30.0)
        assert 0 < caught.value.details["retry_after"] <= 30.0
    await b.acquire("user-2", 2, 30.0)


async def test_redis_token_budget(redis_limiters: tuple[Limiter, Limiter]) -> None:
    a, b = redis_limiters
    await a.add("tok-1", 70, 60.0)
    await b.acquire("tok-1", 100, 60.0, record=False)
    await b.add("tok-1", 30, 60.0)
    with pytest.raises(RateLimitedError):
        await a.acquire("tok-1", 100, 60.0, record=False)


async def test_redis_down_falls_back_to_local_windows() -> None:
    limiter = Limiter(RedisWindows(f"redis://127.0.0.1:{free_port()}/0"))
    try:
        await limiter.acquire("k", 1, 10.0)
        with pytest.raises(RateLimitedError):
            await limiter.acquire("k", 1, 10.0)
    finally:
        await limiter.aclose()


async def test_chat_replicas_share_per_user_limits(
    tmp_path: Path, redis_server: Proc
) -> None:
    """Two chat replicas on one Redis: the user's message budget is one, whichever they use."""
    stack = start_stack(
        tmp_path / "replicas",
        chat_env={
            "REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/1",
            "RATE_MESSAGES_PER_MINUTE": "2",
            "RATE_MESSAGES_WINDOW_SECONDS": "30",
        },
        upstream_env={"FAKE_TTFT_MS": "5", "FAKE_TOKEN_MS": "1", "FAKE_TOKENS": "3"},
    )
    clients: list[ChatClient] = []
    try:
        second = start_service("chat_service", env=stack.chat.env)
        stack.extra.append(second)
        token, _ = stack.guest_token()
        for url in (stack.chat.url, second.url):
            clients.append(await ChatClient(
                url, token, origin=stack.ui.url, honour_retry_after=False).connect())
        acks = []
        for c in (*clients, *clients):
            cid = (await c.ok("conversation.create", {}))["conversation"]["id"]
            acks.append(await c.call("message.send", {
                "conversation_id": cid, "client_message_id": uuid.uuid4().hex, "content": "hi"}))
        assert [a["ok"] for a in acks] == [True, True, False, False], acks
        for a in acks[2:]:
            assert a["error"]["code"] == "rate_limited"
            assert 0 < a["error"]["retry_after"] <= 30
        # Another user is not affected, on either replica.
        other = await ChatClient(second.url, stack.guest_token()[0], origin=stack.ui.url).connect()
        clients.append(other)
        cid = (await other.ok("conversation.create", {}))["conversation"]["id"]
        await other.ok("message.send", {
            "conversation_id": cid, "client_message_id": uuid.uuid4().hex, "content": "hi"})
    finally:
        for c in clients:
            await c.close()
        stack.stop()
