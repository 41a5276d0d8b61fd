"""The chat replicas' Socket.IO Redis manager while Redis goes away and comes back.

A real redis-server (Debian's, no persistence) on a free port, two real chat replicas, the
real history and LLM services on a fake upstream. Redis is SIGKILLed and restarted on the same
port, or frozen with SIGSTOP/SIGCONT, in the middle of an answer. An outage lasts until the
local client has received a given number of further tokens (an event, not a fixed time), so a
slow machine makes it longer, never flaky.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.chat_client import ChatClient
from tests.support.chat_system import INTERNAL, assert_contiguous, conversation, send
from tests.support.contract import assert_message_shape
from tests.support.holds import Hold
from tests.support.processes import Proc
from tests.test_chat_replicas import Cluster, expected_answer, rest_after, run_cluster, start_redis

OUTAGE_SECONDS = 1.5  # the least time Redis stays away
OUTAGE_TOKENS = 15  # tokens the local client must receive while Redis is away


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two replicas on one Redis; the default answer lease (6 s) outlasts every outage here."""
    yield from run_cluster(tmp_path_factory.mktemp("redis-manager"))


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


def words(c: ChatClient) -> int:
    """Tokens (words) the client has received in deltas so far."""
    return len("".join(d["delta"] for d in c.events["message.delta"]).split())


async def outage(cluster: Cluster, how: str, c: ChatClient, tokens: int = OUTAGE_TOKENS) -> int:
    """Take Redis away (SIGKILL or SIGSTOP) for at least OUTAGE_SECONDS and until ``c`` has
    received ``tokens`` more tokens (at most 60 s: a failure if they never come), then bring
    it back on the same port. Returns the tokens received meanwhile."""
    before = words(c)
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def streamed_on() -> None:
        try:
            await c.wait_for(lambda: words(c) >= before + tokens, timeout=60)
        except TimeoutError:
            got = words(c) - before
            raise AssertionError(
                f"Redis away ({how}): {got} of {tokens} tokens reached the client in 60 s"
            ) from None
        await asyncio.sleep(max(0.0, started + OUTAGE_SECONDS - loop.time()))

    if how == "kill":
        cluster.redis.kill()
        try:
            await streamed_on()
        finally:
            cluster.redis = await asyncio.to_thread(start_redis, cluster.redis.port)
    else:
        os.kill(cluster.redis.pid, signal.SIGSTOP)
        try:
            await streamed_on()
        finally:
            os.kill(cluster.redis.pid, signal.SIGCONT)
    return words(c) - before


async def wait_redis_up(replica: Proc, timeout: float = 60) -> None:
    """The Socket.IO manager publishes again and the answers' records are restored."""
    deadline = asyncio.get_running_loop().time() + timeout
    for gauge in ("chat_redis_up",):
        while await metric(replica, gauge) != 1:
            assert asyncio.get_running_loop().time() < deadline, f"{gauge} stayed 0"
            await asyncio.sleep(0.1)


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
    during = await outage(cluster, how, on_a)
    [done] = await on_a.wait_done(cid, timeout=60)
    assert done["status"] == "complete"
    assert done["content"] == expected_answer(question, 200)
    seen = on_a.answer(cid, done["id"])
    assert seen is not None
    assert_contiguous(seen.deltas)  # every index once, none missing, none twice
    assert seen.text == done["content"]
    # Not held back until Redis returned, killed or frozen: the outage streamed live (the
    # outage ends only after OUTAGE_TOKENS tokens reached the client; the first delta waits at
    # most REDIS_OP_TIMEOUT_MS on the answer's Redis append), the publishes for the other
    # replica failed fast and were counted.
    assert during >= OUTAGE_TOKENS
    assert await metric(cluster.a, "chat_redis_publish_failures_total") > failures_before
    await wait_redis_up(cluster.a)
    print(f"redis {how}: {during} tokens reached the local client during the outage")


async def test_cross_replica_delivery_recovers_after_a_restart(
    cluster: Cluster, on_a: ChatClient, user_id: str
) -> None:
    """After Redis restarts on the same port, a client on replica B hears answers streamed on
    replica A again, without anyone restarting anything."""
    cluster.redis.kill()
    await asyncio.sleep(OUTAGE_SECONDS)
    cluster.redis = await asyncio.to_thread(start_redis, cluster.redis.port)
    restarted = asyncio.get_running_loop().time()
    deadline = restarted + 60  # the replicas reconnect with a capped back-off
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
    assert recovered < 60
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


async def test_frozen_redis_streams_live_and_another_replica_resumes_after(
    cluster: Cluster, on_a: ChatClient, user_id: str
) -> None:
    """Redis frozen (SIGSTOP) mid-answer: the local client keeps getting deltas; after SIGCONT
    the answer's Redis record (deltas, lease, owner) is restored, so a client that reconnects
    to the other replica mid-answer gets the text so far and ``next_index``, and the deltas
    from there complete it without a gap. The answer is paused (held) while Redis comes back
    and B reconnects: no later delta can repair the record, Redis's return alone must."""
    upstream = cluster.system.upstream.url
    frozen = Hold.new(after=10)  # Redis is frozen while the answer waits here
    held = Hold.new(after=100)  # and the answer waits here until B has reconnected
    question = f"[tokens:600] frozen redis {frozen.tag} {held.tag}"
    await wait_redis_up(cluster.a)
    cid = await conversation(on_a)
    await send(on_a, cid, question)
    await frozen.wait_held(upstream)
    os.kill(cluster.redis.pid, signal.SIGSTOP)
    try:
        await frozen.arelease(upstream)
        await held.wait_held(upstream)
        # the tokens up to the second hold reach the local client while Redis is frozen
        await on_a.wait_for(lambda: words(on_a) >= 100, timeout=60)
    finally:
        os.kill(cluster.redis.pid, signal.SIGCONT)
    during = words(on_a)
    deltas_after_freeze = len(on_a.events["message.delta"])
    assert await metric(cluster.a, "chat_redis_skipped_total") > 0
    await wait_redis_up(cluster.a)  # up once the answers' records are restored
    # B's gate too: a B still counting Redis as down cannot read the record (it sends the
    # message as stored: the last checkpoint's text and its index, behind the deltas streamed
    # while frozen), which is not what this test is about (see the next test)
    await wait_redis_up(cluster.b)
    b = await cluster.client(cluster.b, user_id)
    try:
        live = (await b.ok("conversation.get", {"conversation_id": cid}))["messages"][-1]
        assert live["status"] == "streaming", "the answer ended before B reconnected"
        # every delta streamed while Redis was frozen, as the local client got them
        assert live["next_index"] == deltas_after_freeze, (live, deltas_after_freeze)
        assert live["content"] == "".join(d["delta"] for d in on_a.events["message.delta"])
        await held.arelease(upstream)
        [done] = await b.wait_done(cid, timeout=60)
        rest = rest_after(b, live)
        assert_contiguous(rest, start=live["next_index"])
        assert live["content"] + "".join(d["delta"] for d in rest) == done["content"]
    finally:
        await b.close()
    assert done["status"] == "complete"
    assert done["content"] == expected_answer(question, 600)
    seen = on_a.answer(cid, done["id"])
    assert seen is not None
    assert_contiguous(seen.deltas)
    assert seen.text == done["content"]
    print(f"redis frozen: {during} tokens live; B resumed at index {live['next_index']}")


async def stored_answer(cluster: Cluster, user_id: str, cid: str) -> dict[str, Any]:
    """The conversation's last message as history holds it (read as the chat service does)."""
    headers = {"Authorization": f"Bearer {INTERNAL}", "X-User-Id": user_id}
    async with httpx.AsyncClient(base_url=cluster.system.history.url, timeout=30) as http:
        r = await http.get(f"/v1/conversations/{cid}/messages", headers=headers)
    r.raise_for_status()
    return dict(r.json()["messages"][-1])


async def test_a_replica_without_redis_sends_the_stored_checkpoint_with_its_index(
    cluster: Cluster, on_a: ChatClient, user_id: str
) -> None:
    """Redis frozen mid-answer: replica B cannot read the answer's live record (nor tell
    whether A still streams it), so its ``conversation.get`` sends the message as history
    holds it: the last checkpoint's text with ``next_index``, the delta index that text
    reaches. The pair agrees: the text is exactly the first ``next_index`` deltas."""
    upstream = cluster.system.upstream.url
    held = Hold.new(after=30)
    question = f"[tokens:60] stored checkpoint {held.tag}"
    await wait_redis_up(cluster.a)
    await wait_redis_up(cluster.b)
    cid = await conversation(on_a)
    await send(on_a, cid, question)
    await held.wait_held(upstream)
    # the first delta is checkpointed at once: wait until history holds some text
    deadline = asyncio.get_running_loop().time() + 60
    while not (await stored_answer(cluster, user_id, cid))["content"]:
        assert asyncio.get_running_loop().time() < deadline, "no checkpoint in 60 s"
        await asyncio.sleep(0.1)
    os.kill(cluster.redis.pid, signal.SIGSTOP)
    try:
        b = await cluster.client(cluster.b, user_id)
        try:
            stored = (await b.ok("conversation.get", {"conversation_id": cid}))["messages"][-1]
        finally:
            await b.close()
    finally:
        os.kill(cluster.redis.pid, signal.SIGCONT)
    assert stored["status"] == "streaming", stored
    assert isinstance(stored.get("next_index"), int), f"no next_index: {stored}"
    assert_message_shape(stored)
    got = [d for d in on_a.events["message.delta"] if d["message_id"] == stored["id"]]
    assert_contiguous(got)
    assert 1 <= stored["next_index"] <= len(got), (stored, len(got))
    assert stored["content"] == "".join(d["delta"] for d in got[: stored["next_index"]])
    held_there = await stored_answer(cluster, user_id, cid)  # no delta since: the same pair
    assert (stored["content"], stored["next_index"]) == (
        held_there["content"], held_there["next_index"])
    await wait_redis_up(cluster.a)
    await wait_redis_up(cluster.b)
    await held.arelease(upstream)
    [done] = await on_a.wait_done(cid, timeout=60)
    assert done["status"] == "complete" and "next_index" not in done
    assert done["content"] == expected_answer(question, 60)
    print(f"B sent the stored checkpoint: next_index {stored['next_index']} of {len(got)}")
