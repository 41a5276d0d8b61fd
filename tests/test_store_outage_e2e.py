"""The MongoDB-wire server dies mid-conversation: the chat service refuses, loses nothing, recovers.

Issue 4's guarantee seen from an outside client: while the store is down `message.send` is
answered `unavailable` (never acked), every message acked before is still there afterwards,
and once the server is back the same connection works again without restarting a service.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.chat_client import ChatClient
from tests.support.mongo_server import MongoServer
from tests.support.stack import Stack, start_stack

pytestmark = pytest.mark.mongo


@pytest.fixture
def mongo_stack(tmp_path: Path, mongo: MongoServer) -> Iterator[Stack]:
    s = start_stack(
        tmp_path / "stack",
        upstream_env={"FAKE_TTFT_MS": "5", "FAKE_TOKEN_MS": "1", "FAKE_TOKENS": "8"},
        history_env={
            "MONGODB_URI": mongo.uri,
            # Fail fast while the server is gone, so the test sees `unavailable` quickly.
            "MONGODB_SERVER_SELECTION_TIMEOUT_MS": "1000",
        },
    )
    try:
        yield s
    finally:
        s.stop()


async def test_store_outage_refuses_loses_nothing_and_recovers(
    mongo_stack: Stack, mongo: MongoServer
) -> None:
    token, _ = mongo_stack.guest_token()
    c = await ChatClient(mongo_stack.chat.url, token).connect()
    try:
        cid = (await c.ok("conversation.create", {"title": "outage"}))["conversation"]["id"]
        acked = []
        for i in range(3):
            ack = await c.ok("message.send", {"conversation_id": cid,
                                              "client_message_id": f"before-{i}",
                                              "content": f"before outage {i}"})
            acked.append(ack["message"]["id"])
            await c.wait_done(cid, count=i + 1)

        mongo.kill()  # a crash (SIGKILL), not a clean shutdown
        ack = await c.call("message.send", {"conversation_id": cid,
                                            "client_message_id": "during",
                                            "content": "while the store is down"},
                           timeout=60)
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
        ack = await c.call("conversation.list", {}, timeout=60)
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack

        mongo.start()
        deadline = time.monotonic() + 60
        while True:  # the services reconnect by themselves; no restart
            ack = await c.call("message.send", {"conversation_id": cid,
                                                "client_message_id": "after",
                                                "content": "after the outage"}, timeout=60)
            if ack["ok"] or time.monotonic() > deadline:
                break
            assert ack["error"]["code"] == "unavailable", ack
        assert ack["ok"] is True, ack
        acked.append(ack["message"]["id"])
        await c.wait_done(cid, count=4, timeout=60)

        got = await c.ok("conversation.get", {"conversation_id": cid})
        users = [m for m in got["messages"] if m["role"] == "user"]
        assert [m["id"] for m in users] == acked  # nothing acked lost, nothing unacked stored
        assert "while the store is down" not in [m["content"] for m in users]
        seqs = [m["seq"] for m in got["messages"]]
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        await c.close()
