"""End-to-end tests of ../shared/CONTRACT.md's Socket.IO events and guarantees.

The whole system runs as real processes (fake upstream, history, LLM, chat, UI); a
python-socketio client drives the chat service exactly as an outside client would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import jwt
import pytest
import socketio

from tests.support.chat_client import ChatClient
from tests.support.contract import CLIENT_EVENTS, ERROR_CODES, assert_message_shape
from tests.support.contract_stack import (
    assert_error,
    connect,
    new_conversation,
    send,
    slow_stack,
    stack,
    store_env,
    stored_messages,
)
from tests.support.holds import Hold
from tests.support.stack import Stack

__all__ = ["slow_stack", "stack", "store_env"]


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[ChatClient]:
    c = await connect(stack)
    yield c
    await c.close()


# ---------------------------------------------------------------- connecting


def test_guest_token_and_config(stack: Stack) -> None:
    r = httpx.get(stack.ui.url + "/config.json")
    assert r.status_code == 200
    assert set(r.json()) >= {"chat_url", "socket_path"}
    token, user_id = stack.guest_token()
    assert token and user_id


@pytest.mark.parametrize("kind", ["missing", "forged", "expired", "garbage"])
async def test_bad_tokens_refused_at_connect(stack: Stack, kind: str) -> None:
    now = int(time.time())
    claims = {
        "sub": "someone",
        "iss": "chatbot-ui",
        "aud": "chatbot-chat",
        "iat": now,
        "exp": now + 600,
    }
    token: str | None = {
        "missing": None,
        "forged": jwt.encode(claims, "not-the-secret-" + "x" * 32, algorithm="HS256"),
        "expired": jwt.encode(
            {**claims, "iat": now - 7200, "exp": now - 3600}, stack.auth_secret, algorithm="HS256"
        ),
        "garbage": "not.a.token",
    }[kind]
    c = ChatClient(stack.chat.url, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await c.connect()
    assert not c.sio.connected


# ---------------------------------------------------------------- streaming


async def test_send_streams_answer_matching_done_and_history(client: ChatClient) -> None:
    conv = await new_conversation(client)
    assert set(conv) >= {
        "id",
        "title",
        "created_at",
        "updated_at",
        "message_count",
        "model",
        "system_prompt",
    }
    msg = await send(client, conv["id"], "Hello there, what is streaming?")
    assert msg["role"] == "user" and msg["seq"] == 1 and msg["status"] == "complete"
    assert msg["content"] == "Hello there, what is streaming?"
    [done] = await client.wait_done(conv["id"])
    answer = client.answer(conv["id"], done["id"])
    assert answer is not None and answer.deltas
    assert answer.indexes == list(range(len(answer.deltas)))
    assert done["status"] == "complete" and done["role"] == "assistant" and done["seq"] == 2
    assert answer.text == done["content"] and done["content"]
    for message in (msg, done):
        assert_message_shape(message)  # no next_index on a final message
    stored = await stored_messages(client, conv["id"])
    for message in stored:
        assert_message_shape(message)
    assert [m["seq"] for m in stored] == [1, 2]
    assert stored[1]["content"] == done["content"] and stored[1]["status"] == "complete"
    assert stored[0]["id"] == msg["id"]


async def test_new_conversation_gets_title_from_first_message(client: ChatClient) -> None:
    conv = await new_conversation(client)
    await send(client, conv["id"], "Explain Kubernetes pod disruption budgets please")
    await client.wait_done(conv["id"])
    got = (await client.ok("conversation.get", {"conversation_id": conv["id"]}))["conversation"]
    assert got["title"] and "Kubernetes" in got["title"] and len(got["title"]) <= 200
    assert got["message_count"] == 2


async def test_send_is_idempotent_on_client_message_id(client: ChatClient) -> None:
    conv = await new_conversation(client)
    cmid = uuid.uuid4().hex
    first = await send(client, conv["id"], "only once please", cmid)
    again = await send(client, conv["id"], "only once please", cmid)
    assert again["id"] == first["id"] and again["seq"] == first["seq"]
    await client.wait_done(conv["id"])
    await asyncio.sleep(0.5)  # a second answer, if one was wrongly started, would show here
    stored = await stored_messages(client, conv["id"])
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert len(client.events["message.done"]) == 1


async def test_other_tab_sees_created_and_deltas(stack: Stack) -> None:
    token, _ = stack.guest_token()
    a, b = await connect(stack, token), await connect(stack, token)
    try:
        conv = await new_conversation(a)
        await b.ok("conversation.get", {"conversation_id": conv["id"]})
        msg = await send(a, conv["id"], "two tabs")
        [done] = await b.wait_done(conv["id"])
        assert any(e["message"]["id"] == msg["id"] for e in b.events["message.created"])
        ans = b.answer(conv["id"], done["id"])
        assert ans is not None and ans.text == done["content"]
    finally:
        await a.close()
        await b.close()


async def test_stop_keeps_partial_text(slow_stack: Stack) -> None:
    c = await connect(slow_stack)
    hold = Hold.new(after=5)
    try:
        conv = await new_conversation(c)
        await send(c, conv["id"], f"a long answer please {hold.tag}")
        await hold.wait_held(slow_stack.upstream.url)
        await c.wait_for(lambda: len(c.events["message.delta"]) >= 1)
        await c.ok("message.stop", {"conversation_id": conv["id"]})
        [done] = await c.wait_done(conv["id"])
        assert done["status"] == "stopped"
        ans = c.answer(conv["id"], done["id"])
        assert ans is not None and ans.text == done["content"] and done["content"]
        stored = await stored_messages(c, conv["id"])
        assert stored[-1]["status"] == "stopped" and stored[-1]["content"] == done["content"]
    finally:
        await c.close()
        await hold.arelease(slow_stack.upstream.url)


async def test_reconnect_mid_answer_resumes_with_next_index(slow_stack: Stack) -> None:
    token, _ = slow_stack.guest_token()
    first = await connect(slow_stack, token)
    hold = Hold.new(after=8)  # paused there until the second connection has read it
    conv = await new_conversation(first)
    await send(first, conv["id"], f"tell me a long story {hold.tag}")
    await hold.wait_held(slow_stack.upstream.url)
    await first.wait_for(lambda: len(first.events["message.delta"]) >= 1)
    seen = len(first.events["message.delta"])
    await first.close()
    second = await connect(slow_stack, token)
    try:
        got = await second.ok("conversation.get", {"conversation_id": conv["id"]})
        last = got["messages"][-1]
        assert last["role"] == "assistant" and last["status"] == "streaming"
        assert isinstance(last["next_index"], int) and last["next_index"] >= seen
        assert_message_shape(last)
        await hold.arelease(slow_stack.upstream.url)
        [done] = await second.wait_done(conv["id"], timeout=60)
        later = [d for d in second.events["message.delta"] if d["message_id"] == last["id"]]
        assert [d["index"] for d in later] == list(
            range(last["next_index"], last["next_index"] + len(later))
        )
        assert last["content"] + "".join(d["delta"] for d in later) == done["content"]
        assert done["status"] == "complete"
    finally:
        await second.close()


async def test_regenerate_replaces_last_answer(client: ChatClient) -> None:
    conv = await new_conversation(client)
    await send(client, conv["id"], "first question")
    [first] = await client.wait_done(conv["id"])
    assert (await client.call("message.regenerate", {"conversation_id": conv["id"]}))["ok"]
    dones = await client.wait_done(conv["id"], count=2)
    second = dones[-1]
    assert second["id"] != first["id"] and second["status"] == "complete"
    ans = client.answer(conv["id"], second["id"])
    assert ans is not None and ans.text == second["content"]
    assert ans.indexes == list(range(len(ans.deltas)))
    stored = await stored_messages(client, conv["id"])
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[-1]["id"] == second["id"]


# ---------------------------------------------------------------- conversations


async def test_rename_list_search_delete(client: ChatClient) -> None:
    word = "zebra" + uuid.uuid4().hex[:6]
    a = await new_conversation(client, title="Alpha")
    b = await new_conversation(client, title="Beta")
    renamed = await client.ok(
        "conversation.rename", {"conversation_id": a["id"], "title": f"Alpha {word}"}
    )
    assert renamed["conversation"]["title"] == f"Alpha {word}"
    await send(client, b["id"], f"the {word} in a message")
    await client.wait_done(b["id"])
    listed = (await client.ok("conversation.list", {}))["conversations"]
    ids = [c["id"] for c in listed]
    assert ids.index(b["id"]) < ids.index(a["id"])  # newest activity first
    found = (await client.ok("conversation.search", {"query": word}))["conversations"]
    assert {c["id"] for c in found} == {a["id"], b["id"]}
    assert await client.ok("conversation.delete", {"conversation_id": b["id"]}) == {"ok": True}
    assert_error(await client.call("conversation.get", {"conversation_id": b["id"]}), "not_found")
    found = (await client.ok("conversation.search", {"query": word}))["conversations"]
    assert [c["id"] for c in found] == [a["id"]]


async def test_list_paginates_with_limit_and_before(client: ChatClient) -> None:
    for i in range(5):
        await new_conversation(client, title=f"page {i}")
    page1 = (await client.ok("conversation.list", {"limit": 2}))["conversations"]
    assert len(page1) == 2
    page2 = (await client.ok("conversation.list", {"limit": 2, "before": page1[-1]["updated_at"]}))[
        "conversations"
    ]
    assert len(page2) == 2
    assert not {c["id"] for c in page1} & {c["id"] for c in page2}


# ---------------------------------------------------------------- limits and bad input


async def test_too_large_message_stores_nothing(client: ChatClient) -> None:
    conv = await new_conversation(client)
    ack = await client.call(
        "message.send",
        {"conversation_id": conv["id"], "client_message_id": "big", "content": "x" * 32_001},
    )
    assert_error(ack, "too_large")
    assert await stored_messages(client, conv["id"]) == []
    ok = await send(client, conv["id"], "y" * 32_000)
    assert len(ok["content"]) == 32_000
    ack = await client.call("conversation.create", {"title": "t" * 201})
    assert ack["ok"] is False and ack["error"]["code"] in {"too_large", "invalid"}


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("conversation.create", "not an object"),
        ("conversation.create", {"title": 42}),
        ("conversation.list", {"limit": "ten"}),
        ("conversation.list", {"limit": -1}),
        ("conversation.get", {}),
        ("conversation.get", {"conversation_id": {"$ne": None}}),
        ("conversation.get", {"conversation_id": ["a"]}),
        ("conversation.rename", {"conversation_id": {"$gt": ""}, "title": "x"}),
        ("conversation.rename", {"title": "x"}),
        ("conversation.delete", {"conversation_id": {"$ne": None}}),
        ("conversation.search", {"query": {"$regex": ".*"}}),
        ("conversation.search", {}),
        (
            "message.send",
            {"conversation_id": {"$ne": None}, "client_message_id": "a", "content": "hi"},
        ),
        ("message.send", {"client_message_id": "a", "content": "hi"}),
        (
            "message.send",
            {"conversation_id": "abc", "client_message_id": {"$ne": 1}, "content": "hi"},
        ),
        ("message.send", {"conversation_id": "abc", "client_message_id": "a", "content": 5}),
        ("message.stop", {"conversation_id": None}),
        ("message.regenerate", [1, 2, 3]),
    ],
)
async def test_malformed_payloads_are_invalid(client: ChatClient, event: str, payload: Any) -> None:
    ack = await client.call(event, payload)
    assert ack.get("ok") is False
    assert ack["error"]["code"] == "invalid", ack


async def test_unknown_conversation_is_not_found(client: ChatClient) -> None:
    missing = uuid.uuid4().hex
    for event, payload in [
        ("conversation.get", {"conversation_id": missing}),
        ("conversation.rename", {"conversation_id": missing, "title": "x"}),
        ("conversation.delete", {"conversation_id": missing}),
        ("message.send", {"conversation_id": missing, "client_message_id": "m", "content": "hi"}),
        ("message.stop", {"conversation_id": missing}),
        ("message.regenerate", {"conversation_id": missing}),
    ]:
        assert_error(await client.call(event, payload), "not_found")


async def test_second_user_gets_not_found_for_everything(stack: Stack) -> None:
    owner, intruder = await connect(stack), await connect(stack)
    try:
        word = "secret" + uuid.uuid4().hex[:8]
        conv = await new_conversation(owner, title=f"private {word}")
        await send(owner, conv["id"], f"my {word} plan")
        await owner.wait_done(conv["id"])
        cid = conv["id"]
        for event, payload in [
            ("conversation.get", {"conversation_id": cid}),
            ("conversation.rename", {"conversation_id": cid, "title": "mine now"}),
            ("conversation.delete", {"conversation_id": cid}),
            (
                "message.send",
                {"conversation_id": cid, "client_message_id": "x", "content": "hijack"},
            ),
            ("message.stop", {"conversation_id": cid}),
            ("message.regenerate", {"conversation_id": cid}),
        ]:
            assert_error(await intruder.call(event, payload), "not_found")
        assert (await intruder.ok("conversation.list", {}))["conversations"] == []
        assert (await intruder.ok("conversation.search", {"query": word}))["conversations"] == []
        # Nothing of the owner's changed, and the intruder saw none of its events.
        stored = await stored_messages(owner, cid)
        assert [m["role"] for m in stored] == ["user", "assistant"]
        got = (await owner.ok("conversation.get", {"conversation_id": cid}))["conversation"]
        assert got["title"] == f"private {word}"
        assert not intruder.events["message.delta"] and not intruder.events["message.created"]
    finally:
        await owner.close()
        await intruder.close()


async def test_every_error_code_is_from_the_contract(client: ChatClient) -> None:
    for event in CLIENT_EVENTS:
        ack = await client.call(event, {"conversation_id": 12, "query": 3, "title": 4})
        if not ack["ok"]:
            assert ack["error"]["code"] in ERROR_CODES
