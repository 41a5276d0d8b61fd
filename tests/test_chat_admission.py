"""Admission control on a real chat service (``MAX_ACTIVE_ANSWERS=1``), beside real history
and LLM services and the fake upstream.

While one answer holds the only slot (paused by the fake upstream, not raced), a new answer is
refused before anything is stored: ``message.send``, ``message.edit`` and
``message.regenerate`` are answered ``unavailable`` with ``retry_after``, nothing reaches
history (the conversation is as it was), the refusals are counted; the same
``client_message_id`` sent again once the slot is free is stored once and answered once.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.chat_client import ChatClient
from tests.support.chat_system import System, conversation, messages, send, start_system
from tests.support.holds import Hold

RETRY_AFTER = 3.0


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    s = start_system(
        tmp_path_factory.mktemp("admission"),
        {"FAKE_TTFT_MS": "10", "FAKE_TOKEN_MS": "5", "FAKE_TOKENS": "20"},
        {"MAX_ACTIVE_ANSWERS": "1", "ANSWER_RETRY_AFTER_SECONDS": str(RETRY_AFTER)},
    )
    try:
        yield s
    finally:
        s.stop()


async def metric(url: str, name: str, labels: str) -> float:
    async with httpx.AsyncClient(base_url=url) as http:
        text = (await http.get("/metrics")).text
    m = re.search(rf"^{re.escape(name)}{{{re.escape(labels)}}} (\S+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def assert_busy(ack: dict[str, Any]) -> None:
    assert ack.get("ok") is False, ack
    assert ack["error"]["code"] == "unavailable" and ack["error"]["message"], ack
    assert ack["error"]["retry_after"] == RETRY_AFTER, ack


async def test_refused_before_anything_is_stored_then_answered_once(system: System) -> None:
    client = await system.client()
    try:
        await refused_then_answered(system, client)
    finally:
        await client.close()


async def refused_then_answered(system: System, client: ChatClient) -> None:
    # An earlier conversation with a finished answer (the slot is free: admitted).
    earlier = await conversation(client)
    first = await send(client, earlier, "an earlier question")
    [earlier_done] = await client.wait_done(earlier)
    # One answer holds the only slot, paused mid-stream until released.
    hold = Hold.new(after=3)
    holding = await conversation(client)
    await send(client, holding, f"hold the slot {hold.tag}")
    await hold.wait_held(system.upstream.url)
    refused_before = await metric(system.chat.url, "chat_answers_refused_total",
                                  'reason="max_active"')
    users_before = await metric(system.history.url, "history_messages_stored_total",
                                'role="user"')
    assert users_before >= 2  # read from history's /metrics (two messages stored so far)

    other = await system.client()
    try:
        cid = await conversation(other)
        payload = {"conversation_id": cid, "client_message_id": uuid.uuid4().hex,
                   "content": "answer me when you can"}
        assert_busy(await other.call("message.send", payload))
        assert_busy(await other.call("message.send", payload))  # the page's retry, still busy
        assert_busy(await client.call("message.edit", {
            "conversation_id": earlier, "message_id": first["id"],
            "client_message_id": uuid.uuid4().hex, "content": "a new version"}))
        assert_busy(await client.call("message.regenerate", {"conversation_id": earlier}))
        # Nothing stored, nothing replaced, nothing acked.
        assert await messages(other, cid) == []
        assert [m["id"] for m in await messages(client, earlier)] == [
            first["id"], earlier_done["id"]]
        assert await metric(system.history.url, "history_messages_stored_total",
                            'role="user"') == users_before
        assert await metric(system.chat.url, "chat_answers_refused_total",
                            'reason="max_active"') == refused_before + 4
        # A new message in the conversation that holds the slot replaces its answer: admitted.
        await send(client, holding, "never mind that")
        await client.wait_done(holding, count=2)
        await hold.arelease(system.upstream.url)
        # The slot is free: the same client_message_id is stored once and answered once.
        ack = await other.ok("message.send", payload)
        [done] = await other.wait_done(cid)
        stored = await messages(other, cid)
        assert [(m["role"], m["status"]) for m in stored] == [
            ("user", "complete"), ("assistant", "complete")]
        assert stored[0]["id"] == ack["message"]["id"] and stored[1]["id"] == done["id"]
        again = await other.ok("message.send", payload)  # idempotent: no second answer
        assert again["message"]["id"] == ack["message"]["id"]
        assert len(await messages(other, cid)) == 2
    finally:
        await other.close()


async def test_a_burst_admits_the_capacity_and_leaks_no_slot(system: System) -> None:
    """Five sends at once with one slot: refused as their packets are decoded (before any
    task), the one let through holds the slot; once it ends, each of the others is admitted
    in turn: no refusal left a slot taken."""
    clients = [await system.client() for _ in range(5)]
    try:
        hold = Hold.new(after=3)
        cids = [await conversation(c) for c in clients]
        acks = await asyncio.gather(*(clients[i].call("message.send", {
            "conversation_id": cids[i], "client_message_id": uuid.uuid4().hex,
            "content": f"burst {i} {hold.tag}"}) for i in range(len(clients))))
        admitted = [i for i, ack in enumerate(acks) if ack.get("ok") is True]
        assert len(admitted) == 1, acks
        for i, ack in enumerate(acks):
            if i not in admitted:
                assert_busy(ack)
                assert await messages(clients[i], cids[i]) == []  # nothing stored
        await hold.wait_held(system.upstream.url)
        await hold.arelease(system.upstream.url)
        await clients[admitted[0]].wait_done(cids[admitted[0]])
        for i in range(len(clients)):
            if i not in admitted:
                await send(clients[i], cids[i], f"burst {i}, again")
                await clients[i].wait_done(cids[i])
    finally:
        for c in clients:
            await c.close()
