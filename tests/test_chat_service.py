"""The chat service as a real process beside real history and LLM services (fake upstream).

Tokens are issued with the shared secret (the UI service is not needed here); a
python-socketio client drives the contract's events.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import socketio
from chatbot_common.tokens import issue_guest_token

from tests.support.chat_client import ChatClient
from tests.support.holds import Hold
from tests.support.processes import Proc, start_process, start_service

SECRET = "chat-test-secret-of-at-least-32-bytes"
INTERNAL = "chat-test-internal"


@dataclass
class System:
    upstream: Proc
    history: Proc
    llm: Proc
    chat: Proc

    def token(self, user_id: str | None = None, ttl: int = 600) -> str:
        return issue_guest_token(SECRET, ttl, user_id)[0]

    async def client(self, user_id: str | None = None, chat: Proc | None = None) -> ChatClient:
        return await ChatClient((chat or self.chat).url, self.token(user_id)).connect()

    def stop(self) -> None:
        for p in (self.chat, self.llm, self.history, self.upstream):
            p.stop()

    def start_chat(self, **env: str) -> Proc:
        """Another chat service process on the same history and LLM services."""
        return start_service("chat_service", env={**self.chat.env, **env})

    async def astart_chat(self, **env: str) -> Proc:
        """``start_chat`` in a thread: connected clients keep answering pings meanwhile."""
        return await asyncio.to_thread(self.start_chat, **env)


def start_system(state: Path, upstream_env: dict[str, str], chat_env: dict[str, str]) -> System:
    common = {"STATE_DIR": str(state), "INTERNAL_TOKEN": INTERNAL, "AUTH_SECRET": SECRET}
    started: list[Proc] = []
    try:
        upstream = start_process(
            "fake_upstream",
            [sys.executable, "-m", "tests.support.fake_upstream"],
            env=upstream_env,
            health_path="/v1/models",
        )
        started.append(upstream)
        history = start_service("history_service", env=common)
        started.append(history)
        llm = start_service(
            "llm_service",
            env={**common, "LLM_BASE_URL": upstream.url + "/v1", "LLM_API_KEY": "test",
                 "LLM_MODEL": "fake/echo-1"},
        )
        started.append(llm)
        chat = start_service(
            "chat_service",
            env={**common, "LLM_SERVICE_URL": llm.url + "/v1",
                 "HISTORY_SERVICE_URL": history.url, **chat_env},
        )
    except BaseException:
        for p in reversed(started):
            p.stop()
        raise
    return System(upstream, history, llm, chat)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Answers of 60 tokens, 15 ms apart; a test that acts mid-answer holds it (``Hold``)."""
    s = start_system(
        tmp_path_factory.mktemp("chat"),
        {"FAKE_TTFT_MS": "30", "FAKE_TOKEN_MS": "15", "FAKE_TOKENS": "60"},
        {"DELTA_INTERVAL_MS": "20"},
    )
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
async def client(system: System) -> AsyncIterator[ChatClient]:
    c = await system.client()
    yield c
    await c.close()


def assert_error(ack: dict[str, Any], code: str) -> None:
    assert ack.get("ok") is False, ack
    assert ack["error"]["code"] == code, ack
    assert ack["error"]["message"]


async def conversation(c: ChatClient, **fields: Any) -> str:
    return str((await c.ok("conversation.create", fields))["conversation"]["id"])


async def send(c: ChatClient, cid: str, content: str, cmid: str | None = None) -> dict[str, Any]:
    payload = {"conversation_id": cid, "client_message_id": cmid or uuid.uuid4().hex,
               "content": content}
    return (await c.ok("message.send", payload))["message"]


async def messages(c: ChatClient, cid: str) -> list[dict[str, Any]]:
    return list((await c.ok("conversation.get", {"conversation_id": cid}))["messages"])


def assert_contiguous(deltas: list[dict[str, Any]], start: int = 0) -> None:
    assert [d["index"] for d in deltas] == list(range(start, start + len(deltas)))


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


async def test_metrics_and_probes(system: System, client: ChatClient) -> None:
    # one answer of its own: tests run in random order, this one may come first
    cid = await conversation(client)
    await send(client, cid, "count me")
    await client.wait_done(cid)
    async with httpx.AsyncClient(base_url=system.chat.url) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        text = (await http.get("/metrics")).text
    for name in ("chat_connections", "chat_events_total", "chat_answers_total",
                 "chat_deltas_emitted_total", "chat_time_to_first_token_seconds"):
        assert name in text
    assert 'chat_events_total{event="message.send",outcome="ok"}' in text


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


async def test_sigterm_lets_short_answers_finish_and_interrupts_long_ones(system: System) -> None:
    """The long answer is held (it cannot end by itself); the short one is released when the
    signal is sent, so it must finish within the grace period."""
    grace = 8.0
    chat = await system.astart_chat(SHUTDOWN_GRACE_SECONDS=str(grace))
    user_id = f"guest-{uuid.uuid4().hex}"
    endless, brief = Hold.new(after=3), Hold.new(after=3)
    try:
        c = await system.client(user_id, chat)
        short, long = await conversation(c), await conversation(c)
        await send(c, long, f"[tokens:1000] a very long answer {endless.tag}")
        await send(c, short, f"[tokens:10] a short one {brief.tag}")
        await endless.wait_held(system.upstream.url)
        await brief.wait_held(system.upstream.url)
        started = asyncio.get_running_loop().time()
        stopping = asyncio.create_task(asyncio.to_thread(chat.stop, timeout=grace + 60))
        await brief.arelease(system.upstream.url)
        # uvicorn re-raises the signal once it has shut down cleanly: -SIGTERM, not -SIGKILL
        assert await stopping == -signal.SIGTERM
        assert asyncio.get_running_loop().time() - started < grace + 30
        await c.close()
    finally:
        chat.stop()
        await endless.arelease(system.upstream.url)
    reader = await system.client(user_id)
    try:
        short_answer = (await messages(reader, short))[-1]
        long_answer = (await messages(reader, long))[-1]
    finally:
        await reader.close()
    assert short_answer["status"] == "complete"
    assert long_answer["status"] == "interrupted" and long_answer["content"]
    assert long_answer["content"].startswith("Echo:")


async def checkpointed(system: System, user_id: str, cid: str, timeout: float = 60) -> None:
    """Wait until history holds some text of the conversation's streaming answer."""
    headers = {"Authorization": f"Bearer {INTERNAL}", "X-User-Id": user_id}
    url = f"{system.history.url}/v1/conversations/{cid}/messages"
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        while True:
            last = (await http.get(url)).json()["messages"][-1]
            if last["role"] == "assistant" and last["content"]:
                return
            assert asyncio.get_running_loop().time() < deadline, "no checkpoint in history"
            await asyncio.sleep(0.1)


async def test_a_crashed_replica_leaves_no_answer_streaming(system: System) -> None:
    chat = await system.astart_chat()
    user_id = f"guest-{uuid.uuid4().hex}"
    try:
        c = await system.client(user_id, chat)
        cid = await conversation(c)
        hold = Hold.new(after=20)
        user = await send(c, cid, f"[tokens:1000] crash during this {hold.tag}")
        await hold.wait_held(system.upstream.url)
        await c.wait_for(lambda: len(c.events["message.delta"]) >= 1)
        await checkpointed(system, user_id, cid)
        chat.kill()
        await c.close()
    finally:
        chat.stop()
        await hold.arelease(system.upstream.url)
    reader = await system.client(user_id)
    try:
        stored = await messages(reader, cid)
    finally:
        await reader.close()
    assert stored[0]["id"] == user["id"]  # the acked message survived
    assert stored[1]["role"] == "assistant" and stored[1]["status"] == "interrupted"
    # the text checkpointed before the crash is kept: a prefix of what the client saw
    seen = c.answer(cid, stored[1]["id"])
    assert seen is not None and stored[1]["content"]
    assert seen.text.startswith(stored[1]["content"])


async def test_a_restarted_chat_service_interrupts_orphans_without_a_reader(
    system: System,
) -> None:
    """The start-up sweep finalises what a crash left ``streaming``, before anyone opens it."""
    chat = await system.astart_chat()
    user_id = f"guest-{uuid.uuid4().hex}"
    try:
        c = await system.client(user_id, chat)
        cid = await conversation(c)
        hold = Hold.new(after=20)
        await send(c, cid, f"[tokens:1000] crash during this {hold.tag}")
        await hold.wait_held(system.upstream.url)
        await c.wait_for(lambda: len(c.events["message.delta"]) >= 1)
        chat.kill()
        await c.close()
    finally:
        chat.stop()
        await hold.arelease(system.upstream.url)
    headers = {"Authorization": f"Bearer {INTERNAL}", "X-User-Id": user_id}
    url = f"{system.history.url}/v1/conversations/{cid}/messages"
    async with httpx.AsyncClient(headers=headers) as http:
        assert (await http.get(url)).json()["messages"][-1]["status"] == "streaming"
        restarted = await system.astart_chat()
        try:
            deadline = asyncio.get_running_loop().time() + 60
            while asyncio.get_running_loop().time() < deadline:
                last = (await http.get(url)).json()["messages"][-1]
                if last["status"] != "streaming":
                    break
                await asyncio.sleep(0.1)
        finally:
            restarted.stop()
    assert last["status"] == "interrupted"


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
