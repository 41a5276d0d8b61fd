"""Issue 12, step 3: the chat pod serving an answer is deleted (grace 0) mid-answer.

Three chat replicas share answers through Redis. The pod streaming the answer is the one whose
``chat_answers_in_flight`` is 1 (read straight from each pod's /metrics). After the delete the
client reconnects through the ingress, reads the answer so far (``conversation.get``) and gets
the rest live: the answer completes once (one ``message.done``, status ``complete``, the text
the uninterrupted answer would have), and every acked user message is in history.
"""

from __future__ import annotations

import asyncio
import time

from tests.cluster.live._live import (
    Live,
    answer_done,
    assembled,
    connect,
    container_port,
    core_api,
    create_conversation,
    delete_pod,
    guest_token,
    history,
    metric,
    new_id,
    ready_pods,
    wait_replaced,
)
from tests.support.chat_client import ChatClient
from tests.support.fake_upstream import answer_tokens

TOKENS = 400  # 20 ms a token in the fake upstream: ~8 s of answer


async def lost(c: ChatClient, start: float, stall: float = 3, timeout: float = 60) -> str:
    """Wait until the client's connection is gone, or its answer has stalled ``stall`` s.

    A pod deleted with grace 0 loses its network at once: the ingress may never see its
    connection close, so (like a browser would after its heartbeat) the client gives up on a
    connection that stopped delivering."""
    count, last = len(c.events["message.delta"]), time.monotonic()
    while time.monotonic() - start < timeout:
        if not c.sio.connected:
            return "disconnected"
        if len(c.events["message.delta"]) != count:
            count, last = len(c.events["message.delta"]), time.monotonic()
        elif time.monotonic() - last >= stall:
            return f"no delta for {stall:.0f} s"
        await asyncio.sleep(0.1)
    raise AssertionError(f"the answer went on for {timeout} s after its pod was deleted")


async def test_chat_pod_deleted_mid_answer_the_answer_completes_once() -> None:
    live = Live()
    core = core_api(live)
    pods = await asyncio.to_thread(ready_pods, core, live, "chat")
    assert len(pods) >= 3, [p.metadata.name for p in pods]  # the HPA keeps 3-6
    token = await guest_token(live)
    c, _ = await connect(live, token)
    acked: list[str] = []
    try:
        cid = await create_conversation(c, "chat pod kill")
        content = f"survive a chat pod kill [tokens:{TOKENS}]"
        sent = await c.ok(
            "message.send",
            {"conversation_id": cid, "client_message_id": new_id(), "content": content},
        )
        acked.append(sent["message"]["id"])
        await c.wait_for(lambda: len(c.events["message.delta"]) >= 20, 30)
        mid = c.events["message.delta"][0]["message_id"]
        serving = [
            p
            for p in pods
            if await metric(p.status.pod_ip, container_port(p), "chat_answers_in_flight") >= 1
        ]
        assert len(serving) == 1, f"answers in flight on {[p.metadata.name for p in serving]}"
        victim, victim_uid = serving[0].metadata.name, serving[0].metadata.uid
        seen_before = len(c.events["message.delta"])
        start = time.monotonic()
        await asyncio.to_thread(delete_pod, core, live, victim)
        how = await lost(c, start)
        disconnected = time.monotonic() - start
    finally:
        await c.close()

    c2, _took = await connect(live, token)
    try:
        reconnected = time.monotonic() - start
        msgs = await history(c2, cid)
        answer = [m for m in msgs if m["role"] == "assistant"]
        assert [m["id"] for m in answer] == [mid], msgs
        now = answer[0]
        print(
            f"\nkilled {victim} after {seen_before} deltas; client saw it ({how}) after "
            f"{disconnected:.1f} s, reconnected in {reconnected:.1f} s; answer then "
            f"{now['status']} at next_index {now.get('next_index')}"
        )
        expected = " ".join(answer_tokens(content, TOKENS))
        if now["status"] == "streaming":
            dones = await answer_done(c2, cid, mid, 60)
            assert len(dones) == 1, f"{len(dones)} message.done for {mid}"
            text = assembled(now["content"], now["next_index"], c2.events["message.delta"])
            assert text == dones[0]["content"]
            final = dones[0]
        else:
            final = now
        assert final["status"] == "complete", f"the answer ended {final['status']}: {final}"
        assert final["content"] == expected
        stored = await history(c2, cid)
        assert [m["status"] for m in stored] == ["complete", "complete"]
        assert stored[1]["content"] == expected
        # A second turn works, and nothing acked is lost.
        sent = await c2.ok(
            "message.send",
            {"conversation_id": cid, "client_message_id": new_id(), "content": "again [tokens:5]"},
        )
        acked.append(sent["message"]["id"])
        await c2.wait_for(
            lambda: any(d["message_id"] != mid for d in c2.events["message.delta"]), 30
        )
        others = [d["message_id"] for d in c2.events["message.delta"] if d["message_id"] != mid]
        second = others[0]
        assert (await answer_done(c2, cid, second, 30))[0]["status"] == "complete"
        ids = [m["id"] for m in await history(c2, cid)]
        assert all(a in ids for a in acked), (acked, ids)
        assert len(ids) == 4 and len(set(ids)) == 4
    finally:
        await c2.close()
    recovered = await wait_replaced(core, live, "chat", {victim_uid}, len(pods), start)
    print(f"chat: {len(pods)} Ready replicas again {recovered:.1f} s after the delete")
