"""Finding 7: a small request cannot ask for a huge answer.

``conversation.get`` with ``limit: 1000`` returned every message (0.85 MB for 92 bytes). Acks
now hold at most MAX_ACK_BYTES (16 KiB in this stack) of items, at least one; the client pages
on from the last item (``after_seq``) and so still gets every message, in order, exactly once.
"""

from __future__ import annotations

import json
import uuid

from tests.security._hostile import chat_client, guest
from tests.support.stack import Stack

BUDGET = 16 * 1024
MESSAGES = 12
BODY = "x" * 3000


async def test_acks_stay_within_the_byte_budget(hostile: Stack) -> None:
    c = await chat_client(hostile, guest(hostile, "10.7.0.1"))
    try:
        cid = (await c.ok("conversation.create", {"title": "long"}))["conversation"]["id"]
        for i in range(MESSAGES // 2):
            await c.ok("message.send", {"conversation_id": cid,
                                        "client_message_id": uuid.uuid4().hex,
                                        "content": f"{i} {BODY}"})
            await c.wait_done(cid, count=i + 1)
        seen: list[int] = []
        after = 0
        pages = 0
        while True:
            ack = await c.ok("conversation.get",
                             {"conversation_id": cid, "after_seq": after, "limit": 1000})
            size = len(json.dumps(ack, separators=(",", ":")))
            assert size <= BUDGET + 1024, size  # the list fits; the envelope is small
            if not ack["messages"]:
                break
            pages += 1
            seen += [m["seq"] for m in ack["messages"]]
            after = ack["messages"][-1]["seq"]
        assert seen == list(range(1, MESSAGES + 1)), seen
        assert pages >= 3, pages

        # Lists are cut the same way, and page on with ``before``.
        for _ in range(8):
            await c.ok("conversation.create", {"title": "t", "system_prompt": BODY})
        listed = (await c.ok("conversation.list", {"limit": 100}))["conversations"]
        assert 1 <= len(listed) < 9
        assert len(json.dumps(listed)) <= BUDGET
    finally:
        await c.close()
