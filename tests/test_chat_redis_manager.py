"""The chat replicas' Socket.IO Redis manager while Redis goes away and comes back.

A real redis-server (Debian's, no persistence) on a free port, two real chat replicas, the
real history and LLM services on a fake upstream. Redis is SIGKILLed and restarted on the same
port, or frozen with SIGSTOP/SIGCONT, in the middle of an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.chat_client import ChatClient
from tests.support.processes import Proc, free_port
from tests.test_chat_replicas import Cluster, expected_answer, start_redis
from tests.test_chat_service import assert_contiguous, conversation, send, start_system

OUTAGE_SECONDS = 1.5


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two replicas on one Redis; the default answer lease (6 s) outlasts every outage here."""
    redis = start_redis(free_port())
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis.port}/0", "DELTA_INTERVAL_MS": "20"}
    try:
        system = start_system(
            tmp_path_factory.mktemp("redis-manager"),
            {"FAKE_TTFT_MS": "30", "FAKE_TOKEN_MS": "20", "FAKE_TOKENS": "60"},
            env,
        )
    except BaseException:
        redis.stop()
        raise
    cluster = Cluster(system, redis, system.chat, system.start_chat())
    try:
        yield cluster
    finally:
        cluster.b.stop()
        system.stop()
        cluster.redis.stop()  # the one running now (tests restart it)


@pytest.fixture
def user_id() -> str:
    return f"guest-{uuid.uuid4().hex}"


@pytest.fixture
async def on_a(cluster: Cluster, user_id: str) -> AsyncIterator[ChatClient]:
    c = await cluster.client(cluster.a, user_id)
    yield c
    await c.close()


async def metric(replica: Proc, name: str) -> float:
    """The sum of a metric's samples on ``replica`` (0 when it has none yet)."""
    async with httpx.AsyncClient(base_url=replica.url) as http:
        text = (await http.get("/metrics")).text
    pattern = rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$"
    return sum(float(v) for v in re.findall(pattern, text, flags=re.MULTILINE))


async def outage(cluster: Cluster, how: str) -> None:
    """Take Redis away for OUTAGE_SECONDS, then bring it back on the same port."""
    if how == "kill":
        cluster.redis.kill()
        await asyncio.sleep(OUTAGE_SECONDS)
        cluster.redis = await asyncio.to_thread(start_redis, cluster.redis.port)
    else:
        os.kill(cluster.redis.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(OUTAGE_SECONDS)
        finally:
            os.kill(cluster.redis.pid, signal.SIGCONT)


async def wait_redis_up(replica: Proc, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await metric(replica, "chat_redis_up") != 1:
        assert asyncio.get_running_loop().time() < deadline, "chat_redis_up stayed 0"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("how", ["kill", "stop"])
async def test_local_client_gets_the_whole_answer_while_redis_is_away(
    cluster: Cluster, on_a: ChatClient, how: str
) -> None:
    """Deltas keep flowing to a client of the answering replica during the outage; the answer
    arrives complete, each index exactly once, equal to the stored one."""
    question = f"[tokens:200] redis goes away ({how})"
    failures_before = await metric(cluster.a, "chat_redis_publish_failures_total")
    cid = await conversation(on_a)
    await send(on_a, cid, question)
    await on_a.wait_for(lambda: len(on_a.events["message.delta"]) >= 3)
    before = len(on_a.events["message.delta"])
    await outage(cluster, how)
    during = len(on_a.events["message.delta"]) - before
    [done] = await on_a.wait_done(cid, timeout=30)
    assert done["status"] == "complete"
    assert done["content"] == expected_answer(question, 200)
    seen = on_a.answer(cid, done["id"])
    assert seen is not None
    assert_contiguous(seen.deltas)  # every index once, none missing, none twice
    assert seen.text == done["content"]
    if how == "kill":
        # Not held back until Redis returned: the outage streamed live (20 ms a token), the
        # publishes for the other replica failed fast and were counted.
        assert during >= 15, f"only {during} deltas during {OUTAGE_SECONDS} s without Redis"
        assert await metric(cluster.a, "chat_redis_publish_failures_total") > failures_before
    # A frozen Redis (SIGSTOP) holds each delta in the answer's own Redis append
    # (live.py, 5 s socket timeout) before it reaches the emit: the deltas come after SIGCONT.
    await wait_redis_up(cluster.a)
    print(f"redis {how}: {during} deltas reached the local client during the outage")


async def test_cross_replica_delivery_recovers_after_a_restart(
    cluster: Cluster, on_a: ChatClient, user_id: str
) -> None:
    """After Redis restarts on the same port, a client on replica B hears answers streamed on
    replica A again, without anyone restarting anything."""
    cluster.redis.kill()
    await asyncio.sleep(OUTAGE_SECONDS)
    cluster.redis = await asyncio.to_thread(start_redis, cluster.redis.port)
    restarted = asyncio.get_running_loop().time()
    deadline = restarted + 30
    while True:
        cid = await conversation(on_a)
        watcher = await cluster.client(cluster.b, user_id)
        try:
            await watcher.ok("conversation.get", {"conversation_id": cid})  # B joins the room
            question = "[tokens:40] after the restart"
            await send(on_a, cid, question)
            [done] = await on_a.wait_done(cid)
            with contextlib.suppress(TimeoutError):
                await watcher.wait_done(cid, timeout=3)
            seen = watcher.answer(cid, done["id"])
        finally:
            await watcher.close()
        # B re-subscribes by itself at some point, possibly in the middle of an answer: wait
        # for the first answer B hears from start to end.
        if seen is not None and seen.done == done and seen.indexes[:1] == [0]:
            break
        assert asyncio.get_running_loop().time() < deadline, "B never heard a whole answer"
    recovered = asyncio.get_running_loop().time() - restarted
    assert done["status"] == "complete"
    assert seen.text == done["content"]
    assert_contiguous(seen.deltas)
    assert recovered < 20
    print(f"cross-replica delivery back {recovered:.2f} s after the Redis restart")


async def test_no_duplicates_on_the_answering_replica_or_the_other(
    cluster: Cluster, on_a: ChatClient, user_id: str
) -> None:
    """The publishing replica delivers once, not again when its own message returns from
    Redis; the other replica delivers the published copy once."""
    await wait_redis_up(cluster.a)
    await wait_redis_up(cluster.b)
    on_b = await cluster.client(cluster.b, user_id)
    try:
        cid = await conversation(on_a)
        await on_b.ok("conversation.get", {"conversation_id": cid})
        await send(on_a, cid, "[tokens:80] once each")
        [done] = await on_a.wait_done(cid)
        [done_b] = await on_b.wait_done(cid)
        await asyncio.sleep(0.5)  # a late duplicate would arrive by now
        for c in (on_a, on_b):
            seen = c.answer(cid, done["id"])
            assert seen is not None
            assert_contiguous(seen.deltas)
            assert seen.text == done["content"]
            dones = [d for d in c.events["message.done"] if d["message"]["id"] == done["id"]]
            assert len(dones) == 1
        assert done_b == done
    finally:
        await on_b.close()
