"""Message versions (edit any message, browse branches, export every branch) and feedback,
end to end through the chat service on both history stores (real processes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.chat_client import ChatClient
from tests.support.contract_stack import (  # the store-parametrised stack of the contract suite
    assert_error,
    connect,
    new_conversation,
    send,
    stack,
    store_env,
)
from tests.support.holds import Hold
from tests.support.stack import Stack

__all__ = ["stack", "store_env"]


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[ChatClient]:
    c = await connect(stack)
    yield c
    await c.close()


async def active(c: ChatClient, cid: str) -> list[dict[str, Any]]:
    return (await c.ok("conversation.get", {"conversation_id": cid}))["messages"]


async def exchanges(c: ChatClient, cid: str, n: int) -> list[dict[str, Any]]:
    for i in range(n):
        await send(c, cid, f"question {i + 1}")
        await c.wait_done(cid, i + 1)
    return await active(c, cid)


async def test_edit_the_second_of_four_messages_and_browse_back(client: ChatClient) -> None:
    cid = (await new_conversation(client))["id"]
    before = await exchanges(client, cid, 4)
    assert [m["role"] for m in before] == ["user", "assistant"] * 4
    assert [m["parent_id"] for m in before] == [None, *(m["id"] for m in before[:-1])]
    second = before[2]

    cmid = uuid.uuid4().hex
    edit = {"conversation_id": cid, "message_id": second["id"], "client_message_id": cmid,
            "content": "question 2, asked better"}
    new = (await client.ok("message.edit", edit))["message"]
    assert new["parent_id"] == before[1]["id"] and new["content"] == edit["content"]
    [done] = (await client.wait_done(cid, 5))[4:]
    assert done["status"] == "complete" and done["content"].startswith("Echo: question 2, asked")

    shown = await active(client, cid)
    assert [m["content"] for m in shown[:3]] == ["question 1", before[1]["content"],
                                                 "question 2, asked better"]
    assert len(shown) == 4 and shown[3]["id"] == done["id"]
    assert shown[2]["versions"] == [second["id"], new["id"]]
    conversation = (await client.ok("conversation.get", {"conversation_id": cid}))["conversation"]
    assert conversation["message_count"] == 4

    # The same edit again (a retried ack) stores nothing and starts no answer.
    again = (await client.ok("message.edit", edit))["message"]
    assert again["id"] == new["id"]

    # Browse back to the old version: the old continuation is shown again, whole.
    back = await client.ok("conversation.branch", {"conversation_id": cid,
                                                   "message_id": second["id"]})
    assert back["conversation"]["message_count"] == 8
    assert [m["id"] for m in await active(client, cid)] == [m["id"] for m in before]
    # And forward.
    await client.ok("conversation.branch", {"conversation_id": cid, "message_id": new["id"]})
    assert [m["id"] for m in await active(client, cid)] == [m["id"] for m in shown]

    # Exports: every message of every branch, with its parent and whether it is shown.
    tree = (await client.ok("conversation.tree", {"conversation_id": cid}))["messages"]
    assert len(tree) == 10
    assert sum(m["active"] for m in tree) == 4
    assert {m["id"] for m in tree} >= {m["id"] for m in before}
    assert len([d for d in client.events["message.done"]
                if d["message"]["conversation_id"] == cid]) == 5


async def test_edit_is_checked(stack: Stack, client: ChatClient) -> None:
    cid = (await new_conversation(client))["id"]
    shown = await exchanges(client, cid, 1)
    base = {"conversation_id": cid, "client_message_id": uuid.uuid4().hex, "content": "x"}
    assert_error(await client.call("message.edit", {**base, "message_id": shown[1]["id"]}),
                 "invalid")  # an answer
    assert_error(await client.call("message.edit", {**base, "message_id": shown[0]["id"],
                                                    "content": " "}), "invalid")
    assert_error(await client.call("message.edit", {**base, "message_id": "../x"}), "invalid")
    other = await connect(stack)
    try:
        for event, payload in (
            ("message.edit", {**base, "message_id": shown[0]["id"]}),
            ("conversation.branch", {"conversation_id": cid, "message_id": shown[0]["id"]}),
            ("conversation.tree", {"conversation_id": cid}),
            ("message.feedback", {"conversation_id": cid, "message_id": shown[1]["id"],
                                  "rating": "good"}),
        ):
            assert_error(await other.call(event, payload), "not_found")
    finally:
        await other.close()


async def test_feedback_is_stored_and_counted_per_model(stack: Stack, client: ChatClient) -> None:
    cid = (await new_conversation(client))["id"]
    shown = await exchanges(client, cid, 1)
    answer = shown[1]
    rate = {"conversation_id": cid, "message_id": answer["id"]}
    ack = await client.ok("message.feedback", {**rate, "rating": "bad",
                                               "comment": "  It ignored my question.  "})
    assert ack["message"]["feedback"] == {"rating": "bad", "comment": "It ignored my question."}
    assert (await active(client, cid))[1]["feedback"] == ack["message"]["feedback"]
    assert_error(await client.call("message.feedback", {**rate, "rating": "meh"}), "invalid")
    assert_error(await client.call("message.feedback", {
        "conversation_id": cid, "message_id": shown[0]["id"], "rating": "good"}), "invalid")
    assert_error(await client.call("message.feedback", {**rate, "rating": "bad",
                                                        "comment": "x" * 2001}), "too_large")

    # Counted per model: the operator's usage rows and the chat service's metrics.
    model = answer["model"]
    headers = {"Authorization": f"Bearer {stack.internal_token}"}
    rows = httpx.get(f"{stack.history.url}/v1/usage", params={"group_by": "model"},
                     headers=headers, timeout=10).json()["rows"]
    assert next(r for r in rows if r["key"] == model)["bad"] >= 1
    metrics = httpx.get(stack.chat.url + "/metrics", timeout=10).text
    assert f'chat_feedback_total{{model="{model}",rating="bad"}}' in metrics

    taken_back = await client.ok("message.feedback", {**rate, "rating": None})
    assert taken_back["message"]["feedback"] is None


async def test_an_answer_still_streaming_goes_out_with_its_checkpoint(
    stack: Stack, client: ChatClient
) -> None:
    """An export (``conversation.tree``), a feedback ack and a share link's snapshot send an
    answer still streaming as history holds it: the last checkpoint's text with the delta
    index that text reaches (``next_index``), and the two agree."""
    upstream = stack.upstream.url
    held = Hold.new(after=5)
    cid = (await new_conversation(client))["id"]
    await send(client, cid, f"a long answer please {held.tag}")
    await held.wait_held(upstream)
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while True:  # the first delta is checkpointed at once: wait until history has it
            tree = (await client.ok("conversation.tree", {"conversation_id": cid}))["messages"]
            if tree[-1]["content"]:
                break
            assert asyncio.get_running_loop().time() < deadline, "no checkpoint in 60 s"
            await asyncio.sleep(0.1)
        answer = tree[-1]
        rated = (await client.ok("message.feedback", {
            "conversation_id": cid, "message_id": answer["id"], "rating": "good"}))["message"]
        share = (await client.ok("share.create", {"conversation_id": cid}))["share"]
        shared = (await client.ok("share.get", {"share_id": share["id"]}))["messages"][-1]
        deltas = [d["delta"] for d in client.events["message.delta"]
                  if d["message_id"] == answer["id"]]
        for sent in (answer, rated, shared):
            assert sent["status"] == "streaming", sent
            assert isinstance(sent.get("next_index"), int), f"no next_index: {sent}"
            assert 1 <= sent["next_index"] <= len(deltas), (sent, deltas)
            assert sent["content"] == "".join(deltas[: sent["next_index"]])
    finally:
        await held.arelease(upstream)
    [done] = await client.wait_done(cid, timeout=60)
    assert done["status"] == "complete" and "next_index" not in done
    final = (await client.ok("conversation.tree", {"conversation_id": cid}))["messages"][-1]
    assert final["content"] == done["content"] and "next_index" not in final
