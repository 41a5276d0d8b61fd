"""Finding 1: binary packets and attachments are refused at the protocol layer.

Five sockets (another process) announce 9,999,999,999 attachments each and then stream
64 KiB binary frames for 30 s, reconnecting whenever the server drops them. The chat
process's RSS (psutil, the real process) must grow less than 10 MB over that, and another
user's answers keep streaming meanwhile. Before the fix the server buffered every frame.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.security._hostile import binary_flood, chat_client
from tests.support.stack import Stack, start_stack

FLOOD_SECONDS = 30
SOCKETS = 5


@pytest.fixture(scope="module")
def flooded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("flood")),
        chat_env={"ALLOWED_ORIGINS": "*"},
        upstream_env={"FAKE_TTFT_MS": "20", "FAKE_TOKEN_MS": "20", "FAKE_TOKENS": "40"},
    )
    try:
        yield s
    finally:
        s.stop()


async def test_binary_attachment_flood_is_refused(flooded: Stack) -> None:
    chat = psutil.Process(flooded.chat.pid)
    victim = await chat_client(flooded, flooded.guest_token()[0])
    cid = (await victim.ok("conversation.create", {}))["conversation"]["id"]

    async def ask(n: int) -> None:
        await victim.ok("message.send", {"conversation_id": cid,
                                         "client_message_id": uuid.uuid4().hex,
                                         "content": f"question {n}"})
        done = await victim.wait_done(cid, count=n, timeout=60)
        assert done[-1]["status"] == "complete", done[-1]

    await ask(1)  # warm: the answer path has run once before the baseline
    baseline = chat.memory_info().rss
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    tokens = [flooded.guest_token()[0] for _ in range(SOCKETS)]
    flood = ctx.Process(target=binary_flood, args=(flooded.chat.url, tokens, FLOOD_SECONDS, out))
    flood.start()
    peak, answers = baseline, 1
    try:
        until = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < until:
            answers += 1
            await ask(answers)  # another user's answers keep streaming meanwhile
            peak = max(peak, chat.memory_info().rss)
            await asyncio.sleep(0.2)
        tally = await asyncio.to_thread(out.get, True, FLOOD_SECONDS + 60)
    finally:
        flood.join(30)
        if flood.is_alive():
            flood.kill()
        await victim.close()
    peak = max(peak, chat.memory_info().rss)
    growth_mb = (peak - baseline) / 1e6
    print(f"binary flood: {tally}, chat RSS {baseline / 1e6:.1f} MB + {growth_mb:.1f} MB, "
          f"{answers - 1} answers during the flood")
    assert tally["connections"] >= SOCKETS, tally
    assert growth_mb < 10, f"the chat process grew {growth_mb:.1f} MB under the flood"
    assert answers - 1 >= 5, answers
    assert flooded.chat.alive()
