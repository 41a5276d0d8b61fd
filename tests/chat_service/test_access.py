"""Who may use the chat service: bad tokens are refused at connect, another user's
conversations are not found."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from chatbot_common.tokens import issue_guest_token

from tests.support.chat_client import ChatClient
from tests.support.chat_system import SECRET, System, assert_error, conversation


@pytest.mark.parametrize("kind", ["missing", "forged", "expired", "garbage"])
async def test_bad_tokens_are_refused_at_connect(system: System, kind: str) -> None:
    token: Any = {
        "missing": None,
        "forged": issue_guest_token("another-secret-also-32-bytes-long", 600)[0],
        "expired": issue_guest_token(SECRET, -60)[0],
        "garbage": "not-a-jwt",
    }[kind]
    sio = socketio.AsyncClient(reconnection=False)
    refusals: list[Any] = []
    sio.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            system.chat.url, auth={"token": token} if token else None,
            transports=["websocket"], wait_timeout=5,
        )
    assert not sio.connected
    [refusal] = refusals
    assert refusal["data"]["code"] == "unauthorized", refusal
    assert refusal["message"]


async def test_another_user_gets_not_found(system: System, client: ChatClient) -> None:
    cid = await conversation(client, title="mine")
    other = await system.client()
    try:
        for event, payload in [
            ("conversation.get", {"conversation_id": cid}),
            ("conversation.rename", {"conversation_id": cid, "title": "theirs"}),
            ("conversation.delete", {"conversation_id": cid}),
            ("message.send", {"conversation_id": cid, "client_message_id": "o1", "content": "hi"}),
            ("message.stop", {"conversation_id": cid}),
            ("message.regenerate", {"conversation_id": cid}),
        ]:
            assert_error(await other.call(event, payload), "not_found")
        assert cid not in [c["id"] for c in (await other.ok("conversation.list"))["conversations"]]
        found = await other.ok("conversation.search", {"query": "mine"})
        assert cid not in [c["id"] for c in found["conversations"]]
    finally:
        await other.close()
    assert (await client.ok("conversation.get", {"conversation_id": cid}))["conversation"][
        "title"
    ] == "mine"
