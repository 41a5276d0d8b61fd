"""The chat service's answers: streamed in contiguous deltas equal to what is stored, sent
once per client message id, stopped, regenerated, resumed after a reconnect, replaced by
a new message, ended in an error when the upstream fails."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.chat_client import ChatClient
from tests.support.chat_system import System, assert_contiguous, conversation, messages, send
from tests.support.holds import Hold


async def test_answer_streams_with_contiguous_deltas_equal_to_done_and_stored(
    client: ChatClient,
) -> None:
    cid = await conversation(client, system_prompt="Be brief.")
    user = await send(client, cid, "Hello there")
    assert user["role"] == "user" and user["seq"] == 1 and user["content"] == "Hello there"
    [done] = await client.wait_done(cid)
    answer = client.answer(cid, done["id"])
    assert answer is not None and len(answer.deltas) > 1
    assert_contiguous(answer.deltas)
    assert done["status"] == "complete" and done["role"] == "assistant" and done["seq"] == 2
    assert answer.text == done["content"] and done["content"]
    stored = await messages(client, cid)
    assert [m["id"] for m in stored] == [user["id"], done["id"]]
    assert stored[1]["content"] == done["content"] and stored[1]["status"] == "complete"
    # the first message named the conversation
    await client.wait_for(lambda: any(
        u["conversation"]["title"] == "Hello there" for u in client.events["conversation.updated"]
    ))


async def test_send_is_idempotent_on_client_message_id(client: ChatClient) -> None:
    cid = await conversation(client)
    first = await send(client, cid, "once", cmid="fixed-id-1")
    again = await send(client, cid, "once", cmid="fixed-id-1")
    assert again["id"] == first["id"]
    await client.wait_done(cid)
    await asyncio.sleep(0.3)
    assert len(await client.wait_done(cid)) == 1
    assert [m["role"] for m in await messages(client, cid)] == ["user", "assistant"]
    third = await send(client, cid, "once", cmid="fixed-id-1")
    assert third["id"] == first["id"]
    assert len(await messages(client, cid)) == 2


async def test_stop_keeps_the_text_so_far(system: System, client: ChatClient) -> None:
    hold = Hold.new(after=10)
    cid = await conversation(client)
    await send(client, cid, f"tell me a long story {hold.tag}")
    await hold.wait_held(system.upstream.url)  # paused mid-answer until stopped
    await client.wait_for(lambda: len(client.events["message.delta"]) >= 1)
    assert await client.ok("message.stop", {"conversation_id": cid}) == {"ok": True}
    [done] = await client.wait_done(cid)
    answer = client.answer(cid, done["id"])
    assert answer is not None
    assert done["status"] == "stopped"
    assert answer.text == done["content"] and done["content"]
    assert_contiguous(answer.deltas)
    stored = (await messages(client, cid))[-1]
    assert (stored["status"], stored["content"]) == ("stopped", done["content"])
    await hold.arelease(system.upstream.url)


async def test_regenerate_replaces_the_answer(client: ChatClient) -> None:
    cid = await conversation(client)
    await send(client, cid, "first question")
    [old] = await client.wait_done(cid)
    assert await client.ok("message.regenerate", {"conversation_id": cid}) == {"ok": True}
    dones = await client.wait_done(cid, count=2)
    new = dones[1]
    assert new["id"] != old["id"] and new["status"] == "complete"
    answer = client.answer(cid, new["id"])
    assert answer is not None and answer.text == new["content"]
    assert_contiguous(answer.deltas)
    stored = await messages(client, cid)
    assert [(m["role"], m["id"]) for m in stored] == [
        ("user", stored[0]["id"]), ("assistant", new["id"])
    ]


async def test_reconnect_mid_answer_gets_text_so_far_and_the_rest(system: System) -> None:
    user_id = f"guest-{uuid.uuid4().hex}"
    hold = Hold.new(after=10)
    first = await system.client(user_id)
    cid = await conversation(first)
    await send(first, cid, f"a long answer please {hold.tag}")
    await hold.wait_held(system.upstream.url)
    await first.wait_for(lambda: "".join(d["delta"] for d in first.events["message.delta"])
                         .count(" ") >= 9)  # the ten tokens before the hold reached the client
    await first.close()

    second = await system.client(user_id)
    try:
        ack = await second.ok("conversation.get", {"conversation_id": cid})
        live = ack["messages"][-1]
        assert live["status"] == "streaming" and live["role"] == "assistant"
        assert live["next_index"] >= 1 and live["content"].count(" ") >= 9
        await hold.arelease(system.upstream.url)
        [done] = await second.wait_done(cid)
        rest = [d for d in second.events["message.delta"]
                if d["message_id"] == live["id"] and d["index"] >= live["next_index"]]
        assert_contiguous(rest, start=live["next_index"])
        assert live["content"] + "".join(d["delta"] for d in rest) == done["content"]
        assert done["status"] == "complete"
    finally:
        await second.close()


async def test_a_new_message_stops_the_answer_still_streaming(
    system: System, client: ChatClient
) -> None:
    hold = Hold.new(after=5)
    cid = await conversation(client)
    await send(client, cid, f"[tokens:1000] first, long {hold.tag}")
    await hold.wait_held(system.upstream.url)
    await client.wait_for(lambda: len(client.events["message.delta"]) >= 1)
    await send(client, cid, "[tokens:10] second, short")
    first, second = await client.wait_done(cid, count=2)
    assert first["status"] == "stopped" and second["status"] == "complete"
    stored = await messages(client, cid)
    assert [(m["role"], m["status"]) for m in stored] == [
        ("user", "complete"), ("assistant", "stopped"), ("user", "complete"),
        ("assistant", "complete"),
    ]
    for done in (first, second):
        seen = client.answer(cid, done["id"])
        assert seen is not None and seen.text == done["content"]
        assert_contiguous(seen.deltas)
    await hold.arelease(system.upstream.url)


async def test_upstream_failure_mid_answer_ends_in_error_with_partial_text(
    client: ChatClient,
) -> None:
    cid = await conversation(client)
    await send(client, cid, f"[fault:drop] break {uuid.uuid4().hex}")
    [done] = await client.wait_done(cid)
    assert done["status"] == "error"
    errors = [e for e in client.events["message.error"] if e["conversation_id"] == cid]
    assert [e["message_id"] for e in errors] == [done["id"]]
    assert errors[0]["error"]["code"] in {"upstream_error", "unavailable"}
    answer = client.answer(cid, done["id"])
    assert answer is not None and answer.text == done["content"] and done["content"]
    assert_contiguous(answer.deltas)
    stored = (await messages(client, cid))[-1]
    assert (stored["status"], stored["content"]) == ("error", done["content"])


async def test_upstream_failure_before_any_token_ends_in_error(client: ChatClient) -> None:
    cid = await conversation(client)
    await send(client, cid, f"[fault:500] never {uuid.uuid4().hex}")
    [done] = await client.wait_done(cid)
    assert (done["status"], done["content"]) == ("error", "")
    [error] = [e for e in client.events["message.error"] if e["conversation_id"] == cid]
    assert error["error"]["code"] == "upstream_error"
    # the conversation goes on: the next message is answered
    await send(client, cid, "and now?")
    dones = await client.wait_done(cid, count=2)
    assert dones[1]["status"] == "complete"
