"""Issue 12, step 4: the history pod and the MongoDB stand-in's pod are deleted (grace 0).

Both workloads are scaled to 0 first, so the outage lasts until the test ends it (a replacement
can be Ready within a second, too soon for a send to meet the outage reliably). While the store
is away, ``message.send`` is answered ``unavailable`` (over a connection that stays open); once
scaled back the system recovers by itself; every acked user message and every answer stored
before the outage is still in history afterwards.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.cluster.live._live import (
    Live,
    answer_done,
    connect,
    container_port,
    core_api,
    create_conversation,
    delete_pod,
    guest_token,
    history,
    new_id,
    ready_pods,
    scale,
    wait_gone,
    wait_replaced,
    wait_unreachable,
)
from tests.support.chat_client import ChatClient


async def _turn(c: ChatClient, cid: str, content: str) -> dict[str, Any]:
    sent = await c.ok(
        "message.send", {"conversation_id": cid, "client_message_id": new_id(), "content": content}
    )
    await c.wait_for(
        lambda: any(
            d["message"]["conversation_id"] == cid and d["message"]["seq"] > sent["message"]["seq"]
            for d in c.events["message.done"]
        ),
        60,
    )
    return dict(sent["message"])


async def test_history_and_mongodb_pods_deleted_nothing_acked_lost() -> None:
    live = Live()
    core = core_api(live)
    token = await guest_token(live)
    c, _ = await connect(live, token)
    acked: list[str] = []
    try:
        cid = await create_conversation(c, "store outage")
        acked.append((await _turn(c, cid, "before the outage [tokens:8]"))["id"])
        before = await history(c, cid)
        assert [m["status"] for m in before] == ["complete", "complete"]

        victims = {}
        for name in ("history", "mongodb"):
            pods = await asyncio.to_thread(ready_pods, core, live, name)
            assert len(pods) == 1, f"{name}: {[p.metadata.name for p in pods]}"
            victims[name] = pods[0]
        # The outage is held, not raced: both workloads are scaled to 0 and their pods killed,
        # so the sends below meet a store that is certainly away; then they are scaled back.
        start = time.monotonic()
        try:
            await asyncio.to_thread(scale, live, {"history": 0, "mongodb": 0})
            for pod in victims.values():  # the kill (the controller's own delete is graceful)
                await asyncio.to_thread(delete_pod, core, live, pod.metadata.name, True)
            for name, pod in victims.items():
                await wait_gone(core, live, name, start)
                await wait_unreachable(pod.status.pod_ip, container_port(pod), start)
            codes = [await _refused(c, cid, i) for i in range(3)]
            print(f"\nsends during the outage answered {codes}")
            assert set(codes) == {"unavailable"}, codes
        finally:
            await asyncio.to_thread(scale, live, {"history": 1, "mongodb": 1})
        back = time.monotonic()
        replaced = {
            name: asyncio.create_task(wait_replaced(core, live, name, {pod.metadata.uid}, 1, back))
            for name, pod in victims.items()
        }

        recovered_at = None
        while time.monotonic() - back < 180:
            ack = await c.call(
                "message.send",
                {"conversation_id": cid, "client_message_id": new_id(),
                 "content": "after the outage [tokens:4]"},
                timeout=30,
            )
            if ack.get("ok"):
                acked.append(ack["message"]["id"])
                recovered_at = time.monotonic() - back
                break
            assert ack["error"]["code"] == "unavailable", ack
            await asyncio.sleep(0.5)
        assert recovered_at is not None, "the chat service did not recover within 180 s"
        print(f"first acked send {recovered_at:.1f} s after scaling back")
        for name, task in replaced.items():
            print(f"{name}: replacement Ready {await task:.1f} s after scaling back")

        # The answer to the first send after the outage completes; nothing acked is lost.
        last = next(m for m in (await history(c, cid)) if m["id"] == acked[-1])
        await answer_done(c, cid, await _next_answer(c, last), 60)
        after = await history(c, cid)
        ids = [m["id"] for m in after]
        assert all(a in ids for a in acked), (acked, ids)
        assert after[: len(before)] == before
        assert len(ids) == len(set(ids))
        assert after[-1]["role"] == "assistant" and after[-1]["status"] == "complete"
    finally:
        await c.close()
    # A fresh connection (any replica) sees the same conversation.
    c2, _ = await connect(live, token)
    try:
        assert [m["id"] for m in await history(c2, cid)] == ids
    finally:
        await c2.close()


async def _refused(c: ChatClient, cid: str, i: int) -> str:
    """A send while the store is away: its error code (an ack here fails the test)."""
    ack = await c.call(
        "message.send",
        {"conversation_id": cid, "client_message_id": new_id(),
         "content": f"during the outage {i} [tokens:4]"},
        timeout=60,
    )
    assert not ack.get("ok"), f"a send was acked while the store was away: {ack}"
    return str(ack["error"]["code"])


async def _next_answer(c: ChatClient, user: dict[str, Any]) -> str:
    """The id of the assistant message answering ``user`` (from its deltas or message.done)."""
    cid, seq = user["conversation_id"], user["seq"]

    def found() -> str | None:
        for d in c.events["message.done"]:
            m = d["message"]
            if m["conversation_id"] == cid and m["seq"] == seq + 1:
                return str(m["id"])
        return None

    await c.wait_for(lambda: found() is not None, 60)
    mid = found()
    assert mid is not None
    return mid
