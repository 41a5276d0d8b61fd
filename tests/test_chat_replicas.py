"""Several chat replicas sharing rooms and in-flight answers through a real Redis server.

Debian's redis-server runs on a free loopback port with no persistence; history, the LLM
service (fake upstream) and two chat replicas run as real processes.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.chat_client import ChatClient
from tests.support.chat_system import (
    System,
    assert_contiguous,
    conversation,
    messages,
    send,
    start_system,
)
from tests.support.fake_upstream import Plan, answer_tokens
from tests.support.holds import Hold
from tests.support.processes import Proc, free_port, start_process, wait_for_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
LEASE = "6"  # the default: a busy machine may delay a live replica's lease renewal by seconds


def start_redis(port: int) -> Proc:
    proc = start_process(
        "redis",
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        port=port,
        health_path=None,
    )
    wait_for_port(port)
    return proc


@dataclass
class Cluster:
    system: System
    redis: Proc
    a: Proc
    b: Proc

    async def client(self, replica: Proc, user_id: str) -> ChatClient:
        return await self.system.client(user_id, replica)


def run_cluster(state: Path, **chat_env: str) -> Iterator[Cluster]:
    """Two chat replicas on one real Redis, with history, LLM and a fake upstream."""
    redis = start_redis(free_port())
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis.port}/0", "DELTA_INTERVAL_MS": "20", **chat_env}
    try:
        system = start_system(
            state, {"FAKE_TTFT_MS": "30", "FAKE_TOKEN_MS": "20", "FAKE_TOKENS": "60"}, env
        )
    except BaseException:
        redis.stop()
        raise
    try:
        second = system.start_chat()
    except BaseException:  # nothing of this cluster outlives a failed start
        system.stop()
        redis.stop()
        raise
    cluster = Cluster(system, redis, system.chat, second)
    try:
        yield cluster
    finally:
        cluster.b.stop()
        system.stop()
        cluster.redis.stop()  # the one running now (tests restart it)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from run_cluster(tmp_path_factory.mktemp("replicas"), ANSWER_LEASE_SECONDS=LEASE)


@pytest.fixture
def user_id() -> str:
    return f"guest-{uuid.uuid4().hex}"


@pytest.fixture
async def on_a(cluster: Cluster, user_id: str) -> AsyncIterator[ChatClient]:
    c = await cluster.client(cluster.a, user_id)
    yield c
    await c.close()


@pytest.fixture
async def on_b(cluster: Cluster, user_id: str) -> AsyncIterator[ChatClient]:
    c = await cluster.client(cluster.b, user_id)
    yield c
    await c.close()


async def redis_steady(cluster: Cluster, timeout: float = 90) -> None:
    """Both replicas publish and follow through Redis again (``chat_redis_up``, the one gauge
    of the one Redis gate, is 1 on each): the steady state a test that disturbed Redis leaves."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=30) as http:
        for replica in (cluster.a, cluster.b):
            for gauge in ("chat_redis_up",):
                while True:
                    text = (await http.get(replica.url + "/metrics")).text
                    if f"\n{gauge} 1.0" in text:
                        break
                    assert asyncio.get_running_loop().time() < deadline, f"{gauge} stayed 0"
                    await asyncio.sleep(0.2)


def rest_after(c: ChatClient, live: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        d
        for d in c.events["message.delta"]
        if d["message_id"] == live["id"] and d["index"] >= live["next_index"]
    ]


async def test_another_replica_sees_the_answer_live(
    cluster: Cluster, on_a: ChatClient, on_b: ChatClient
) -> None:
    await redis_steady(cluster)  # tests run in random order: one may have just restarted Redis
    cid = await conversation(on_a)
    await on_b.ok("conversation.get", {"conversation_id": cid})  # subscribe on replica B
    await send(on_a, cid, "hello from A")
    [done_a] = await on_a.wait_done(cid)
    [done_b] = await on_b.wait_done(cid)
    assert done_a == done_b and done_b["status"] == "complete"
    seen_b = on_b.answer(cid, done_b["id"])
    assert seen_b is not None and seen_b.text == done_b["content"]
    assert_contiguous(seen_b.deltas)
    created = [e["message"]["content"] for e in on_b.events["message.created"]]
    assert created == ["hello from A"]


async def test_reconnect_to_another_replica_mid_answer(
    cluster: Cluster, on_a: ChatClient, user_id: str
) -> None:
    hold = Hold.new(after=10)  # paused there until the client is back on replica B
    await redis_steady(cluster)
    cid = await conversation(on_a)
    await send(on_a, cid, f"[tokens:120] long answer {hold.tag}")
    await hold.wait_held(cluster.system.upstream.url)
    await on_a.wait_for(lambda: len(on_a.events["message.delta"]) >= 1)
    await on_a.close()
    b = await cluster.client(cluster.b, user_id)
    try:
        live = (await b.ok("conversation.get", {"conversation_id": cid}))["messages"][-1]
        assert live["status"] == "streaming" and live["next_index"] >= 1 and live["content"]
        await hold.arelease(cluster.system.upstream.url)
        [done] = await b.wait_done(cid, timeout=60)
        rest = rest_after(b, live)
        assert_contiguous(rest, start=live["next_index"])
        assert live["content"] + "".join(d["delta"] for d in rest) == done["content"]
        assert (await messages(b, cid))[-1]["content"] == done["content"]
    finally:
        await b.close()


async def test_stop_from_another_replica(
    cluster: Cluster, on_a: ChatClient, on_b: ChatClient
) -> None:
    hold = Hold.new(after=10)  # paused there until stopped
    await redis_steady(cluster)
    cid = await conversation(on_a)
    await on_b.ok("conversation.get", {"conversation_id": cid})
    await send(on_a, cid, f"[tokens:400] go on and on {hold.tag}")
    await hold.wait_held(cluster.system.upstream.url)
    await on_b.wait_for(lambda: len(on_b.events["message.delta"]) >= 1)
    assert await on_b.ok("message.stop", {"conversation_id": cid}) == {"ok": True}
    [done] = await on_a.wait_done(cid, timeout=60)
    assert done["status"] == "stopped" and done["content"]
    seen = on_a.answer(cid, done["id"])
    assert seen is not None and seen.text == done["content"]
    await hold.arelease(cluster.system.upstream.url)


def expected_answer(question: str, tokens: int) -> str:
    """The fake upstream's uninterrupted answer to ``question``."""
    return "".join(Plan("none", answer_tokens(question, tokens), 0).pieces)


async def prefills(cluster: Cluster, question: str) -> list[str]:
    """The partial answers the fake upstream was asked to continue for ``question``."""
    async with httpx.AsyncClient() as http:
        seen = (await http.get(cluster.system.upstream.url + "/_fake/requests")).json()
    found = []
    for request in seen["requests"]:
        sent = request["body"]["messages"]
        users = [m["content"] for m in sent if m["role"] == "user"]
        if users and users[-1] == question and sent[-1]["role"] == "assistant":
            found.append(sent[-1]["content"])
    return found


async def assert_finalised_once(c: ChatClient, cid: str, mid: str, content: str) -> None:
    """One message.done for ``mid`` (none more after a lease), one stored assistant message."""
    await asyncio.sleep(float(LEASE) + 0.5)
    dones = [d for d in c.events["message.done"] if d["message"]["id"] == mid]
    assert len(dones) == 1
    stored = await messages(c, cid)
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert (stored[1]["id"], stored[1]["status"], stored[1]["content"]) == (
        mid,
        "complete",
        content,
    )


async def test_a_killed_replicas_answer_is_continued_by_another(
    cluster: Cluster, user_id: str, on_b: ChatClient
) -> None:
    """SIGKILL mid-answer: a surviving replica claims the expired lease and continues the same
    message (assistant prefill) from the next index; it ends complete, equal to the
    uninterrupted answer, finalised once."""
    question = "[tokens:150] this replica dies"
    await redis_steady(cluster)  # another test may have restarted Redis just before
    doomed = await cluster.system.astart_chat()
    try:
        c = await cluster.client(doomed, user_id)
        cid = await conversation(c)
        await on_b.ok("conversation.get", {"conversation_id": cid})  # stays on replica B
        await send(c, cid, question)
        await on_b.wait_for(lambda: len(on_b.events["message.delta"]) >= 3)
        doomed.kill()
        killed_at = asyncio.get_running_loop().time()
        at_kill = len(on_b.events["message.delta"])
        await c.close()
    finally:
        doomed.stop()
    # The client of the dead replica reconnects to replica A.
    again = await cluster.client(cluster.a, user_id)
    try:
        live = (await again.ok("conversation.get", {"conversation_id": cid}))["messages"][-1]
        assert live["status"] == "streaming" and live["content"].startswith("Echo:")
        await on_b.wait_for(lambda: len(on_b.events["message.delta"]) > at_kill + 1, timeout=90)
        took_over = asyncio.get_running_loop().time() - killed_at
        [done] = await again.wait_done(cid, timeout=90)
        rest = rest_after(again, live)
        assert_contiguous(rest, start=live["next_index"])
        assert live["content"] + "".join(d["delta"] for d in rest) == done["content"]
    finally:
        await again.close()
    assert done["status"] == "complete"
    assert done["content"] == expected_answer(question, 150)
    seen = on_b.answer(cid, done["id"])
    assert seen is not None
    assert_contiguous(seen.deltas)  # the dead replica's deltas, then the taker's: no gap
    assert seen.text == done["content"]
    [prefill] = await prefills(cluster, question)
    # the taker continued from the text checkpointed before the kill: not empty, a prefix of
    # what the reconnected client was shown
    assert prefill.startswith("Echo:") and live["content"].startswith(prefill), (prefill, live)
    await assert_finalised_once(on_b, cid, done["id"], done["content"])
    print(
        f"take-over after SIGKILL: first new delta {took_over:.2f} s after the kill "
        f"(lease {LEASE} s)"
    )


async def test_sigterm_hands_the_answer_over(
    cluster: Cluster, user_id: str, on_b: ChatClient
) -> None:
    """SIGTERM with a short grace: the answer still running is handed over at once and
    another replica completes it."""
    hold = Hold.new(after=10)  # the answer is still running when the replica leaves
    question = f"[tokens:200] handed over {hold.tag}"
    await redis_steady(cluster)
    leaving = await cluster.system.astart_chat(SHUTDOWN_GRACE_SECONDS="1")
    try:
        c = await cluster.client(leaving, user_id)
        cid = await conversation(c)
        await on_b.ok("conversation.get", {"conversation_id": cid})
        await send(c, cid, question)
        await hold.wait_held(cluster.system.upstream.url)
        await on_b.wait_for(lambda: len(on_b.events["message.delta"]) >= 1)
        started = asyncio.get_running_loop().time()
        assert await asyncio.to_thread(leaving.stop) == -signal.SIGTERM
        stopped = asyncio.get_running_loop().time() - started
        await c.close()
    finally:
        leaving.stop()
        await hold.arelease(cluster.system.upstream.url)  # the taker's continuation goes on
    [done] = await on_b.wait_done(cid, timeout=90)
    assert done["status"] == "complete"
    assert done["content"] == expected_answer(question, 200)
    seen = on_b.answer(cid, done["id"])
    assert seen is not None and seen.text == done["content"]
    assert_contiguous(seen.deltas)
    [prefill] = await prefills(cluster, question)
    assert prefill and done["content"].startswith(prefill)
    await assert_finalised_once(on_b, cid, done["id"], done["content"])
    print(f"SIGTERM hand-over: the replica exited {stopped:.2f} s after the signal")


async def test_redis_restart_recovers(cluster: Cluster, on_a: ChatClient, user_id: str) -> None:
    cluster.redis.stop()
    cid = await conversation(on_a)
    await send(on_a, cid, "while redis is down")
    [done] = await on_a.wait_done(cid)
    assert done["status"] == "complete"  # one replica alone still answers

    cluster.redis = await asyncio.to_thread(start_redis, cluster.redis.port)
    # Both replicas reconnect by themselves (capped back-off): soon an answer streamed on A
    # reaches a connection on B again.
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        cid2 = await conversation(on_a)
        watcher = await cluster.client(cluster.b, user_id)
        try:
            await watcher.ok("conversation.get", {"conversation_id": cid2})
            await send(on_a, cid2, "after the restart")
            await on_a.wait_done(cid2)
            try:
                [seen] = await watcher.wait_done(cid2, timeout=3)
            except TimeoutError:
                assert asyncio.get_running_loop().time() < deadline, "B never heard from A"
                continue
            assert seen["status"] == "complete"
            break
        finally:
            await watcher.close()
