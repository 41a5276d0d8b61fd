"""Issue 12, step 6: ``helm upgrade`` with a changed config rolls the chat pods, no answer cut.

The upgrade flips the chat chart's LOG_LEVEL (INFO <-> WARNING: its ConfigMap, so
checksum/config rolls every chat pod) while a long answer streams. Each old pod gets preStop +
SIGTERM and drains: the answer completes (one ``message.done``, status ``complete``, the
uninterrupted text), reading the answer so far after a reconnect when the client's replica
goes away.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.cluster.live._live import (
    Live,
    answer_done,
    assembled,
    connect,
    core_api,
    create_conversation,
    guest_token,
    history,
    new_id,
    ready_pods,
)
from tests.support.chat_client import ChatClient
from tests.support.fake_upstream import answer_tokens

TOKENS = 1000  # 20 ms a token in the fake upstream: ~20 s of answer, most of the rollout


async def test_helm_upgrade_rolls_the_chat_pods_without_cutting_an_answer() -> None:
    live = Live()
    core = core_api(live)
    old = {p.metadata.name for p in await asyncio.to_thread(ready_pods, core, live, "chat")}
    assert len(old) >= 3, old  # the HPA keeps 3-6
    cm = await asyncio.to_thread(
        core.read_namespaced_config_map, f"{live.release}-chat", live.namespace
    )
    level = "INFO" if (cm.data or {}).get("LOG_LEVEL") == "WARNING" else "WARNING"  # a real change
    token = await guest_token(live)
    c, _ = await connect(live, token)
    clients: list[ChatClient] = [c]
    content = f"stream through a rolling upgrade [tokens:{TOKENS}]"
    try:
        cid = await create_conversation(c, "upgrade")
        sent = await c.ok(
            "message.send",
            {"conversation_id": cid, "client_message_id": new_id(), "content": content},
        )
        await c.wait_for(lambda: len(c.events["message.delta"]) >= 10, 30)
        mid = c.events["message.delta"][0]["message_id"]
        start = time.monotonic()
        helm = await asyncio.create_subprocess_exec(
            live.helm,
            "upgrade",
            live.release,
            live.chart,
            "-n",
            live.namespace,
            "--kubeconfig",
            live.kubeconfig,
            "--reuse-values",
            "--set",
            f"chat-service.logLevel={level}",
            "--wait",
            "--timeout",
            "5m",
        )
        helm_wait = asyncio.create_task(helm.wait())
        final = None
        snap: dict[str, Any] = {}
        reconnects = 0
        while final is None:
            cur = clients[-1]
            done = [d["message"] for d in cur.events["message.done"] if d["message"]["id"] == mid]
            if done:
                dones = await answer_done(cur, cid, mid, 5)
                assert len(dones) == 1, f"{len(dones)} message.done for {mid}"
                final = dones[0]
                if cur is not c:
                    text = assembled(
                        snap["content"], snap["next_index"], cur.events["message.delta"]
                    )
                else:
                    text = "".join(
                        d["delta"]
                        for d in sorted(cur.events["message.delta"], key=lambda d: d["index"])
                    )
                assert text == final["content"]
                break
            if not cur.sio.connected:
                assert time.monotonic() - start < 300, "the answer did not finish in 300 s"
                nxt, _took = await connect(live, token)
                reconnects += 1
                clients.append(nxt)
                got = next(m for m in await history(nxt, cid) if m["id"] == mid)
                if got["status"] != "streaming":
                    final = got
                    break
                snap = got
                continue
            await asyncio.sleep(0.2)
        rc = await helm_wait
        assert rc == 0, f"helm upgrade exited {rc}"
        print(
            f"\nanswer ended {final['status']} after {reconnects} reconnect(s); "
            f"upgrade rolled out in {time.monotonic() - start:.1f} s"
        )
        assert final["status"] == "complete", final
        assert final["content"] == " ".join(answer_tokens(content, TOKENS))
        # After the rollout every replica is new: read the history on a fresh connection.
        after, _ = await connect(live, token)
        clients.append(after)
        msgs = await history(after, cid)
        assert [(m["id"], m["status"]) for m in msgs] == [
            (sent["message"]["id"], "complete"),
            (mid, "complete"),
        ]
    finally:
        for cl in clients:
            await cl.close()
    new = {p.metadata.name for p in await asyncio.to_thread(ready_pods, core, live, "chat")}
    assert len(new) >= 3 and not new & old, (old, new)
