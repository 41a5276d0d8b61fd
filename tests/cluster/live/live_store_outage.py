"""Issue 12, step 4: the history pod and the MongoDB stand-in's pod are deleted (grace 0).

While the store is down, ``message.send`` is answered ``unavailable`` (sent during the outage,
over a connection that stays open); the system recovers by itself; every acked user message and
every answer stored before the outage is still in history afterwards.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.cluster.live._live import (
    Live,
    answer_done,
    connect,
    core_api,
    create_conversation,
    delete_pod,
    guest_token,
    history,
    new_id,
    ready_pods,
    wait_replaced,
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
        start = time.monotonic()
        for pod in victims.values():
            await asyncio.to_thread(delete_pod, core, live, pod.metadata.name)
        # Each replacement's time to Ready, measured while the sends below go on.
        replaced = {
            name: asyncio.create_task(wait_replaced(core, live, name, {pod.metadata.uid}, 1, start))
            for name, pod in victims.items()
        }

        codes: list[str] = []
        recovered_at = None
        while time.monotonic() - start < 180:
            ack = await c.call(
                "message.send",
                {
                    "conversation_id": cid,
                    "client_message_id": new_id(),
                    "content": f"during the outage {len(codes)} [tokens:4]",
                },
                timeout=30,
            )
            if ack.get("ok"):
                acked.append(ack["message"]["id"])
                if codes:
                    recovered_at = time.monotonic() - start
                    break
                # Acked before the store went away (the delete takes a moment): wait for its
                # answer before the next one (one answer at a time per conversation).
                await answer_done(c, cid, await _next_answer(c, ack["message"]), 60)
                continue
            codes.append(ack["error"]["code"])
            await asyncio.sleep(0.5)
        print(
            f"\nsends during the outage answered {codes}; first acked send again "
            f"{recovered_at} s after the deletes"
        )
        assert codes, "no send was refused: the outage was not observed"
        assert set(codes) == {"unavailable"}, codes
        assert recovered_at is not None, "the chat service did not recover within 180 s"
        for name, task in replaced.items():
            print(f"{name}: replacement Ready {await task:.1f} s after the delete")

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
