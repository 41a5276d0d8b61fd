"""Issue 18: Redis goes away mid-answer; the chat pods stay Ready and the answer completes.

The Redis Deployment is scaled to 0 (its pod deleted) while an answer streams, and kept away
longer than the chat readiness probe takes to fail (3 x 5 s): a chat replica whose Redis is
down still serves its own clients, so ``/readyz`` keeps answering 200 and no chat pod leaves
the Service. The answer completes once on its replica (one ``message.done``, ``complete``, the
uninterrupted text); Redis is then scaled back to 1 and a second answer works.
"""

from __future__ import annotations

import asyncio
import time

from tests.cluster.live._live import (
    Live,
    answer_done,
    connect,
    container_port,
    core_api,
    create_conversation,
    guest_token,
    history,
    metric,
    new_id,
    ready_pods,
    scale,
)
from tests.support.fake_upstream import answer_tokens

TOKENS = 400  # 20 ms a token in the fake upstream: ~8 s of answer
AWAY_SECONDS = 25.0  # longer than the readiness probe needs to fail (failureThreshold x period)


async def test_redis_deleted_mid_answer_chat_stays_ready_and_the_answer_completes() -> None:
    live = Live()
    core = core_api(live)
    chat = await asyncio.to_thread(ready_pods, core, live, "chat")
    assert chat, "no Ready chat pod"
    chat_uids = {p.metadata.uid for p in chat}
    assert len(await asyncio.to_thread(ready_pods, core, live, "redis")) == 1
    token = await guest_token(live)
    c, _ = await connect(live, token)
    not_ready: set[str] = set()
    try:
        cid = await create_conversation(c, "redis outage")
        content = f"survive a redis outage [tokens:{TOKENS}]"
        await c.ok("message.send",
                   {"conversation_id": cid, "client_message_id": new_id(), "content": content})
        await c.wait_for(lambda: len(c.events["message.delta"]) >= 10, 30)
        mid = c.events["message.delta"][0]["message_id"]
        start = time.monotonic()
        await asyncio.to_thread(scale, live, {"redis": 0})

        async def watch_chat() -> None:
            while time.monotonic() - start < AWAY_SECONDS:
                pods = await asyncio.to_thread(ready_pods, core, live, "chat")
                not_ready.update(chat_uids - {p.metadata.uid for p in pods})
                await asyncio.sleep(0.5)

        watcher = asyncio.create_task(watch_chat())
        dones = await answer_done(c, cid, mid, 120)
        finished = time.monotonic() - start
        await watcher
        redis_gone = not await asyncio.to_thread(ready_pods, core, live, "redis")
        down = [p.metadata.name for p in chat
                if await metric(p.status.pod_ip, container_port(p), "chat_redis_up") == 0]
    finally:
        await asyncio.to_thread(scale, live, {"redis": 1})
    try:
        assert not not_ready, f"chat pods left the Service while Redis was away: {not_ready}"
        assert redis_gone, "Redis came back before the check ended"
        assert down, "no chat pod noticed Redis was away (chat_redis_up stayed 1 everywhere)"
        assert len(dones) == 1, f"{len(dones)} message.done for {mid}"
        final = dones[0]
        assert final["status"] == "complete", final
        expected = " ".join(answer_tokens(content, TOKENS))
        assert final["content"] == expected
        indexes = [d["index"] for d in c.events["message.delta"] if d["message_id"] == mid]
        assert indexes == list(range(len(indexes)))
        stored = await history(c, cid)
        assert [m["status"] for m in stored] == ["complete", "complete"]
        print(f"\nRedis scaled to 0 mid-answer: answer complete after {finished:.1f} s, "
              f"{len(chat)} chat pods Ready throughout {AWAY_SECONDS:.0f} s "
              f"(chat_redis_up 0 on {len(down)})")
        # Redis back: every chat pod reaches it again, and a second answer works.
        back = time.monotonic()
        while True:
            pods = await asyncio.to_thread(ready_pods, core, live, "chat")
            ups = [await metric(p.status.pod_ip, container_port(p), "chat_redis_up")
                   for p in pods]
            if len(pods) >= len(chat) and all(u == 1 for u in ups):
                break
            assert time.monotonic() - back < 120, f"chat_redis_up {ups} 120 s after"
            await asyncio.sleep(1)
        print(f"every chat pod reached Redis again {time.monotonic() - back:.1f} s after "
              "it was scaled back")
        await c.ok("message.send", {"conversation_id": cid, "client_message_id": new_id(),
                                    "content": "again [tokens:5]"})
        await c.wait_for(lambda: len(c.events["message.done"]) >= 2, 60)
        assert c.events["message.done"][-1]["message"]["status"] == "complete"
    finally:
        await c.close()
