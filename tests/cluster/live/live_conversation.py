"""Issue 12, step 2: a conversation streams end to end through the ingress and is in history.

Guest token from the UI (POST /auth/guest), Socket.IO over websocket at /socket.io/, the answer
from the in-cluster fake upstream. Run by tests/cluster/test-cluster.sh (not collected by a
plain ``pytest``: the file name matches no test pattern).
"""

from __future__ import annotations

from tests.cluster.live._live import (
    Live,
    answer_done,
    connect,
    create_conversation,
    guest_token,
    history,
    new_id,
)
from tests.support.fake_upstream import answer_tokens


async def test_conversation_streams_through_the_ingress_and_is_in_history() -> None:
    live = Live()
    token = await guest_token(live)
    c, _ = await connect(live, token)
    try:
        assert c.sio.transport() == "websocket"
        cid = await create_conversation(c, "live cluster")
        content = "hello from the live cluster [tokens:30]"
        sent = await c.ok(
            "message.send",
            {"conversation_id": cid, "client_message_id": new_id(), "content": content},
        )
        user = sent["message"]
        assert user["role"] == "user" and user["content"] == content
        answer = c.answer(cid)
        await c.wait_for(lambda: c.answer(cid) is not None, 30)
        answer = c.answer(cid)
        assert answer is not None
        dones = await answer_done(c, cid, answer.message_id, 60)
        assert len(dones) == 1, dones
        done = dones[0]
        expected = " ".join(answer_tokens(content, 30))
        answer = c.answer(cid, done["id"])
        assert answer is not None
        assert done["status"] == "complete" and done["content"] == expected
        assert answer.text == expected and answer.indexes == list(range(len(answer.indexes)))
        msgs = await history(c, cid)
        assert [(m["role"], m["content"], m["status"]) for m in msgs] == [
            ("user", content, "complete"),
            ("assistant", expected, "complete"),
        ]
        assert msgs[0]["id"] == user["id"] and msgs[1]["id"] == done["id"]
    finally:
        await c.close()
    # A new connection (possibly another replica) reads the same history.
    c2, _ = await connect(live, token)
    try:
        listed = (await c2.ok("conversation.list", {}))["conversations"]
        assert cid in [x["id"] for x in listed]
        assert [m["content"] for m in await history(c2, cid)] == [content, expected]
    finally:
        await c2.close()
