"""No user reaches another user's data, through any Socket.IO event or the history API.

A victim owns a conversation with a message carrying a unique marker. Hypothesis drives an
attacker (another guest) through every event with the victim's ids, random ids and random
extra fields: each ack is an error (``not_found``/``invalid``/...) or a success about the
attacker's own data that never mentions the victim's ids or marker; the attacker receives no
event of the victim's conversation; and the victim's data is unchanged afterwards.
"""

from __future__ import annotations

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

EVENTS = ChatNamespace.EVENTS
MARKER = "victimsecret" + uuid.uuid4().hex[:8]


class World:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.loop = LoopThread()
        victim_token, self.victim_id = stack.guest_token()
        self.victim = self.loop.run(self._connect(victim_token))
        self.attacker = self.loop.run(self._connect(stack.guest_token()[0]))
        self.loop.run(self._setup())

    async def _connect(self, token: str) -> ChatClient:
        return await ChatClient(self.stack.chat.url, token, origin=self.stack.ui.url).connect()

    async def _setup(self) -> None:
        ack = await self.victim.ok("conversation.create", {"title": f"title {MARKER}"})
        self.cid = ack["conversation"]["id"]
        ack = await self.victim.ok(
            "message.send",
            {"conversation_id": self.cid, "client_message_id": uuid.uuid4().hex,
             "content": f"hello {MARKER}"},
        )
        self.mid = ack["message"]["id"]
        await self.victim.wait_done(self.cid)
        self.before = await self.snapshot()

    async def snapshot(self) -> tuple[Any, Any]:
        listed = await patient_call(self.victim, "conversation.list", {})
        got = await patient_call(self.victim, "conversation.get", {"conversation_id": self.cid})
        assert listed["ok"] and got["ok"], (listed, got)
        return listed["conversations"], got

    def close(self) -> None:
        self.loop.run(self.victim.close())
        self.loop.run(self.attacker.close())
        self.loop.close()


@pytest.fixture(scope="module")
def world(stack: Stack) -> Iterator[World]:
    w = World(stack)
    try:
        yield w
    finally:
        w.close()


async def attack(w: World, event: str, payload: Any) -> dict[str, Any]:
    ack: dict[str, Any] = await patient_call(w.attacker, event, payload)
    return ack


ids = st.one_of(
    st.sampled_from(["VICTIM_CID", "VICTIM_MID"]),
    st.uuids().map(str),
    st.text(max_size=40),
    st.integers(),
)
extras = st.dictionaries(
    st.sampled_from(["title", "content", "query", "limit", "before", "after_seq", "model",
                     "system_prompt", "client_message_id", "message_id", "user_id"]),
    st.one_of(st.text(max_size=30), st.integers(-5, 500), st.sampled_from(
        ["VICTIM_CID", "VICTIM_MID", MARKER])),
    max_size=4,
)


def resolve(value: Any, w: World) -> Any:
    return {"VICTIM_CID": w.cid, "VICTIM_MID": w.mid}.get(value, value) if isinstance(
        value, str) else value


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=st.sampled_from(EVENTS), cid=ids, extra=extras)
def test_attacker_never_reaches_victim_data(
    world: World, event: str, cid: Any, extra: dict[str, Any]
) -> None:
    payload = {k: resolve(v, world) for k, v in extra.items()}
    payload["conversation_id"] = resolve(cid, world)
    ack = world.loop.run(attack(world, event, payload))
    if ack["ok"]:
        text = repr(ack)
        assert world.cid not in text and world.mid not in text
        assert f"hello {MARKER}" not in text and f"title {MARKER}" not in text
    else:
        assert error_code(ack) in CODES
        if payload["conversation_id"] == world.cid and event not in (
            "conversation.create", "conversation.list", "conversation.search"
        ):
            assert error_code(ack) in {"not_found", "invalid", "too_large"}, ack
    seen = repr(dict(world.attacker.events))
    assert world.cid not in seen and MARKER not in seen


def test_victim_data_unchanged_and_searchable_only_by_owner(world: World) -> None:
    assert world.loop.run(world.snapshot()) == world.before
    found = world.loop.run(world.attacker.ok("conversation.search", {"query": MARKER}))
    assert found["conversations"] == []
    found = world.loop.run(world.victim.ok("conversation.search", {"query": MARKER}))
    assert [c["id"] for c in found["conversations"]] == [world.cid]


@settings(max_examples=30, deadline=None)
@given(user=st.one_of(st.just("guest-attacker"), st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60)))
def test_history_api_scopes_every_route_by_user(world: World, user: str) -> None:
    """The history service itself: another X-User-Id gets 404 on each of the victim's routes."""
    assert user != world.victim_id
    h = {"Authorization": f"Bearer {world.stack.internal_token}", "X-User-Id": user}
    base = f"{world.stack.history.url}/v1/conversations/{world.cid}"
    routes = [
        ("GET", base, None),
        ("PATCH", base, {"title": "mine now"}),
        ("GET", base + "/messages", None),
        ("POST", base + "/messages", {"role": "user", "content": "x", "status": "complete"}),
        ("PATCH", f"{base}/messages/{world.mid}", {"content": "changed"}),
        ("DELETE", f"{base}/messages/{world.mid}", None),
        ("DELETE", base, None),
    ]
    with httpx.Client(timeout=10) as http:
        for method, url, body in routes:
            r = http.request(method, url, headers=h, json=body)
            assert r.status_code in (404, 422), (method, url, r.status_code, r.text)
        listed = http.get(world.stack.history.url + "/v1/conversations", headers=h).json()
        assert world.cid not in repr(listed)
        found = http.get(world.stack.history.url + "/v1/conversations/search",
                         params={"q": MARKER}, headers=h).json()
        assert world.cid not in repr(found)
    assert world.loop.run(world.snapshot()) == world.before
