"""Fuzz every Socket.IO event with random and malformed payloads (hypothesis, real processes).

Each call is answered (no hang) with an ok ack or an error whose code is in the contract; a
refused call leaves the user's store as it was (``conversation.list`` + ``conversation.get`` of
every conversation, compared before and after); the chat service keeps running.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from chat_service.namespace import ChatNamespace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security_support import CODES, LoopThread, error_code, patient_call
from tests.support.chat_client import ChatClient
from tests.support.stack import Stack

EVENTS = (*ChatNamespace.EVENTS, "no.such.event", "connect", "disconnect", "")
FIELDS = ("conversation_id", "client_message_id", "content", "title", "system_prompt", "model",
          "limit", "before", "after_seq", "query")


class Fuzzer:
    def __init__(self, stack: Stack) -> None:
        self.loop = LoopThread()
        token, _ = stack.guest_token()
        self.client = self.loop.run(
            ChatClient(stack.chat.url, token, origin=stack.ui.url).connect()
        )
        self.cid = self.loop.run(self.seed())

    async def seed(self) -> str:
        conv = (await self.client.ok("conversation.create", {"title": "fuzz"}))["conversation"]
        await self.client.ok(
            "message.send",
            {"conversation_id": conv["id"], "client_message_id": "seed", "content": "seed"},
        )
        await self.client.wait_done(conv["id"])
        cid: str = conv["id"]
        return cid

    async def snapshot(self) -> dict[str, Any]:
        """The user's whole store as the contract shows it, once no answer is streaming."""
        for _ in range(100):
            listed = await patient_call(self.client, "conversation.list", {"limit": 100})
            assert listed["ok"], listed
            state: dict[str, Any] = {"list": listed["conversations"]}
            streaming = False
            for conv in listed["conversations"]:
                got = await patient_call(
                    self.client, "conversation.get", {"conversation_id": conv["id"]}
                )
                assert got["ok"], got
                state[conv["id"]] = got
                streaming |= any(m["status"] == "streaming" for m in got["messages"])
            if not streaming:
                return state
            await asyncio.sleep(0.1)
        raise AssertionError("an answer kept streaming")

    def close(self) -> None:
        self.loop.run(self.client.close())
        self.loop.close()


@pytest.fixture(scope="module")
def fuzzer(stack: Stack) -> Iterator[Fuzzer]:
    f = Fuzzer(stack)
    try:
        yield f
    finally:
        f.close()


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=40), st.sampled_from(["", " ", "\x00", "<script>", "{}", "REAL_CID"]),
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
field_value = st.one_of(
    json_value,
    st.just("REAL_CID"),
    st.text(min_size=1, max_size=300),
    st.integers(-(2**70), 2**70),
    st.sampled_from(["x" * 32_001, "y" * 201, "z" * 9_000]),
)
payloads = st.one_of(
    json_value,
    st.dictionaries(st.sampled_from(FIELDS), field_value, max_size=5),
)


def real(value: Any, cid: str) -> Any:
    if value == "REAL_CID":
        return cid
    if isinstance(value, dict):
        return {k: real(v, cid) for k, v in value.items()}
    if isinstance(value, list):
        return [real(v, cid) for v in value]
    return value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=st.sampled_from(EVENTS), payload=payloads)
def test_random_payloads_get_contract_acks_and_refusals_change_nothing(
    fuzzer: Fuzzer, event: str, payload: Any
) -> None:
    payload = real(payload, fuzzer.cid)
    before = fuzzer.loop.run(fuzzer.snapshot())
    if isinstance(payload, dict) and event == "message.send":
        payload.setdefault("client_message_id", uuid.uuid4().hex)  # reach the deeper checks
    ack = fuzzer.loop.run(fuzzer.client.call(event, payload, timeout=15))
    assert set(ack) <= {"ok", "error", "conversation", "conversations", "message", "messages"}
    if not ack["ok"]:
        assert error_code(ack) in CODES, ack
        assert fuzzer.loop.run(fuzzer.snapshot()) == before, (event, payload, ack)
    elif event == "conversation.delete" and payload.get("conversation_id") == fuzzer.cid:
        fuzzer.cid = fuzzer.loop.run(fuzzer.seed())  # keep a real conversation to aim at


def test_chat_service_survived(stack: Stack, fuzzer: Fuzzer) -> None:
    assert stack.chat.alive()
    assert httpx.get(stack.chat.url + "/healthz", timeout=5).status_code == 200
    ack = fuzzer.loop.run(fuzzer.client.call("conversation.list", {}))
    assert ack["ok"] is True
