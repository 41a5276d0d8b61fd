"""The chat service's conversation events: the lifecycle, bad payloads and too large
messages refused (nothing stored)."""

from __future__ import annotations

from typing import Any

from tests.support.chat_client import ChatClient
from tests.support.chat_system import assert_error, conversation, messages, send


async def test_conversation_lifecycle(client: ChatClient) -> None:
    cid = await conversation(client, title="Plans")
    renamed = await client.ok("conversation.rename", {"conversation_id": cid, "title": "Trips"})
    assert renamed["conversation"]["title"] == "Trips"
    listed = (await client.ok("conversation.list", {"limit": 100}))["conversations"]
    assert cid in [c["id"] for c in listed]
    found = (await client.ok("conversation.search", {"query": "trip"}))["conversations"]
    assert [c["id"] for c in found] == [cid]
    assert await client.ok("conversation.delete", {"conversation_id": cid}) == {"ok": True}
    assert_error(await client.call("conversation.get", {"conversation_id": cid}), "not_found")


async def test_invalid_payloads_get_invalid_and_the_connection_lives(client: ChatClient) -> None:
    cid = await conversation(client)
    bad: list[tuple[str, Any]] = [
        ("conversation.get", {"conversation_id": {"$ne": None}}),
        ("conversation.get", {}),
        ("conversation.get", "not an object"),
        ("conversation.get", {"conversation_id": cid, "limit": "10"}),
        ("message.send", {"conversation_id": cid, "content": "no client id"}),
        ("message.send", {"conversation_id": cid, "client_message_id": "x", "content": 42}),
        ("message.send", {"conversation_id": cid, "client_message_id": "x", "content": "  "}),
        ("conversation.list", {"limit": -1}),
        ("conversation.search", {"query": ""}),
        ("conversation.create", {"title": {"$gt": ""}}),
        ("no.such.event", {}),
    ]
    for event, payload in bad:
        assert_error(await client.call(event, payload), "invalid")
    assert (await client.ok("conversation.list", {}))["conversations"]


async def test_too_large_stores_nothing(client: ChatClient) -> None:
    cid = await conversation(client)
    ack = await client.call(
        "message.send",
        {"conversation_id": cid, "client_message_id": "big-1", "content": "x" * 32_001},
    )
    assert_error(ack, "too_large")
    assert_error(await client.call("conversation.create", {"title": "t" * 201}), "invalid")
    assert await messages(client, cid) == []
    # exactly at the limit is fine
    await send(client, cid, "y" * 32_000)
    await client.wait_done(cid)
