"""Redis frozen (SIGSTOP, the test's own redis-server) for 10 s while 50 conversations stream on
two chat replicas: the one Redis gate of each replica bounds every caller (the Socket.IO
manager, the answers' records, the rate limiter on the ``message.send`` path).

- every ``message.send`` sent while Redis is frozen is acked within 1 s (the limiter waits on
  Redis at most the gate's bound, once per outage, then counts in its own windows);
- no answer stalls longer than the gate's bound (plus the scheduling slack of a busy machine);
- after Redis returns, every answer completes exactly once, equal to the upstream's answer;
- both replicas stay ready (``/readyz`` 200) while Redis is frozen.

Answers are paused with the fake upstream's holds (``tests/support/holds.py``), not with
timing: 25 answers are held before the freeze and let go while Redis is frozen (they stream
and finish during the outage), 25 more are sent during the freeze and held until Redis is back.
The answer lease (30 s) outlasts the freeze, so this tests the gate, not take-over.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.chat_client import ChatClient
from tests.support.chat_system import assert_contiguous, conversation
from tests.support.holds import Hold
from tests.test_chat_redis_manager import metric, wait_redis_up
from tests.test_chat_replicas import Cluster, expected_answer, run_cluster

FREEZE_SECONDS = 10.0
CONVERSATIONS = 50  # half before the freeze, half during it
CLIENTS = 10  # users, half on each replica
TOKENS = 40
OP_TIMEOUT_MS = 500  # REDIS_OP_TIMEOUT_MS, the gate's bound on one Redis call
ACK_BOUND = 1.0  # the acceptance bound on a message.send ack while Redis is frozen
# The gate's bound plus scheduling slack: 25 answers and 25 sends on two replicas of a busy
# 2-core machine. A frozen Redis without the gate stalls for the whole freeze (10 s).
STALL_BOUND = OP_TIMEOUT_MS / 1000 + 1.5


class TimedClient(ChatClient):
    """A client that also notes when each delta arrived (monotonic seconds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delta_at: dict[str, list[float]] = {}  # conversation id -> arrival times

        async def timed(data: dict[str, Any]) -> None:
            self.delta_at.setdefault(data["conversation_id"], []).append(time.monotonic())

        self.sio.on("message.delta", self._both(timed))

    def _both(self, timed: Any) -> Any:
        record = self._recorder("message.delta")

        async def handler(data: dict[str, Any]) -> None:
            await timed(data)
            await record(data)

        return handler


@dataclass
class Talk:
    """One conversation of the test: its client, question, hold and what was measured."""

    client: TimedClient
    cid: str
    hold: Hold
    question: str = ""
    ack_seconds: float | None = None
    released_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from run_cluster(
        tmp_path_factory.mktemp("redis-freeze"),
        ANSWER_LEASE_SECONDS="30",
        REDIS_OP_TIMEOUT_MS=str(OP_TIMEOUT_MS),
        RATE_MESSAGES_PER_MINUTE="1000",
        RATE_EVENTS_PER_SECOND="1000",
    )


async def send_timed(talk: Talk) -> None:
    payload = {"conversation_id": talk.cid, "client_message_id": uuid.uuid4().hex,
               "content": talk.question}
    started = time.monotonic()
    ack = await talk.client.call("message.send", payload)
    talk.ack_seconds = time.monotonic() - started
    assert ack.get("ok") is True, ack


def stalls(talk: Talk, since: float, until: float) -> float:
    """The longest wait for the next delta of ``talk`` between ``since`` and ``until``."""
    times = [since, *(t for t in talk.client.delta_at.get(talk.cid, []) if since < t <= until)]
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


async def connected(cluster: Cluster) -> list[TimedClient]:
    """CLIENTS users, alternately on replica A and B."""
    clients = []
    for i in range(CLIENTS):
        replica = cluster.a if i % 2 == 0 else cluster.b
        c = TimedClient(replica.url, cluster.system.token(f"guest-{uuid.uuid4().hex}"))
        await c.connect()
        clients.append(c)
    return clients


async def talks_of(clients: list[TimedClient]) -> list[Talk]:
    """CONVERSATIONS conversations over the clients; the first half's answers hold after 3
    tokens, the second half's after 5."""
    talks = []
    for i in range(CONVERSATIONS):
        c = clients[i % CLIENTS]
        hold = Hold.new(after=3 if i < CONVERSATIONS // 2 else 5)
        talk = Talk(c, await conversation(c), hold)
        talk.question = f"[tokens:{TOKENS}] frozen redis {i} {hold.tag}"
        talks.append(talk)
    return talks


async def while_frozen(cluster: Cluster, before: list[Talk], during: list[Talk]) -> None:
    """The held answers go on and end; 25 new sends meanwhile, one at a time per client (10
    at once), answered up to their hold; both replicas stay ready."""
    upstream = cluster.system.upstream.url
    for t in before:
        t.released_at = time.monotonic()
        await t.hold.arelease(upstream)

    async def sends_of(c: TimedClient) -> None:
        for t in (t for t in during if t.client is c):
            t.released_at = time.monotonic()
            await send_timed(t)

    await asyncio.gather(*(sends_of(c) for c in {t.client for t in during}))
    for t in during:
        await t.hold.wait_held(upstream)
    for t in before:
        await t.client.wait_done(t.cid, timeout=60)
    async with httpx.AsyncClient(timeout=10) as http:
        for replica in (cluster.a, cluster.b):
            assert (await http.get(replica.url + "/readyz")).status_code == 200


async def complete_once(talks: list[Talk]) -> None:
    """Every answer ended ``complete`` exactly once, whole, contiguous and stored."""
    for t in talks:
        [done] = await t.client.wait_done(t.cid, timeout=90)
        assert done["status"] == "complete"
        assert done["content"] == expected_answer(t.question, TOKENS)
        seen = t.client.answer(t.cid, done["id"])
        assert seen is not None
        assert_contiguous(seen.deltas)  # every index once, none missing, none twice
        assert seen.text == done["content"]
    await asyncio.sleep(1.0)  # a late second message.done would have arrived by now
    for t in talks:
        dones = [d for d in t.client.events["message.done"]
                 if d["message"]["conversation_id"] == t.cid]
        assert len(dones) == 1
        stored = await t.client.ok("conversation.get", {"conversation_id": t.cid})
        assert [m["status"] for m in stored["messages"]] == ["complete", "complete"]
        assert stored["messages"][-1]["content"] == dones[0]["message"]["content"]


async def test_frozen_redis_bounds_every_send_and_answer(cluster: Cluster) -> None:
    upstream = cluster.system.upstream.url
    clients = await connected(cluster)
    try:
        talks = await talks_of(clients)
        before, during = talks[: CONVERSATIONS // 2], talks[CONVERSATIONS // 2 :]

        # 25 answers streaming (held after 3 tokens) when Redis freezes.
        sent_at = time.monotonic()
        await asyncio.gather(*(send_timed(t) for t in before))
        for t in before:
            await t.hold.wait_held(upstream)
        held_at = time.monotonic()
        await wait_redis_up(cluster.a)
        await wait_redis_up(cluster.b)

        os.kill(cluster.redis.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            await while_frozen(cluster, before, during)
            # Frozen at least FREEZE_SECONDS, and until all of the above happened.
            await asyncio.sleep(max(0.0, frozen_at + FREEZE_SECONDS - time.monotonic()))
            thawed_at = time.monotonic()
        finally:
            os.kill(cluster.redis.pid, signal.SIGCONT)
        for replica in (cluster.a, cluster.b):
            assert await metric(replica, "chat_redis_skipped_total") > 0  # the gate was down

        # Acks: every send made while frozen within 1 s.
        acks = sorted(t.ack_seconds or 0.0 for t in during)
        print(f"acks while frozen: max {acks[-1]:.3f} s, median {acks[len(acks) // 2]:.3f} s; "
              f"before: max {max(t.ack_seconds or 0.0 for t in before):.3f} s")
        assert acks[-1] < ACK_BOUND, acks

        # Stalls: the longest wait for a next delta while frozen, from each answer's release
        # (or send) on: the 25 to their end, the 25 new ones up to their hold.
        worst = max(stalls(t, t.released_at or frozen_at, thawed_at) for t in talks)
        up = max(stalls(t, sent_at, held_at) for t in before)
        print(f"longest wait for a delta while frozen: {worst:.3f} s "
              f"(with Redis up, from the sends to the holds: {up:.3f} s)")
        assert worst < STALL_BOUND

        # Redis back: the held answers go on; every answer complete exactly once.
        await wait_redis_up(cluster.a)
        await wait_redis_up(cluster.b)
        for t in during:
            await t.hold.arelease(upstream)
        await complete_once(talks)
    finally:
        for c in clients:
            await c.close()
