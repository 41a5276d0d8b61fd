"""The chat service as operations see it: metrics and probes, a drain on SIGTERM, nothing
left streaming after a crash or a restart."""

from __future__ import annotations

import asyncio
import signal
import uuid

import httpx2 as httpx

from tests.support.chat_client import ChatClient
from tests.support.chat_system import INTERNAL, System, conversation, messages, send
from tests.support.holds import Hold


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
