"""The local-model path (no key, ``make run``'s default): a file's text reaches the built-in
model. The whole stack with the real Qwen2.5-0.5B (``local-model`` dependency group): the same
question asked with and without the file; the upstream's own prompt token count grows by the
file, and the model answers from it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.chat_client import ChatClient
from tests.support.stack import Stack, start_stack

NOTES = (
    "Meeting notes, Tuesday. The team reviewed the budget and the schedule. "
    "The secret code word for the launch is PINEAPPLE. Nobody else may know it. "
    "Next meeting on Friday at ten, in the small room on the second floor."
)
QUESTION = "What is the secret code word in the notes? Answer with the word only."


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("local-files")),
        llm_env={"LLM_API_KEY": "", "NVIDIA_API_KEY": "", "LLM_FALLBACKS": "[]",
                 "LLM_BASE_URL": "https://integrate.api.nvidia.com/v1",
                 "LLM_MODEL": "meta/llama-3.1-8b-instruct", "LLM_LOCAL_MODEL": "qwen2.5-0.5b"},
    )
    try:
        deadline = time.monotonic() + 600  # loading on a busy 2-core machine
        while httpx.get(f"{s.llm.url}/readyz", timeout=30).status_code != 200:
            assert s.llm.alive() and time.monotonic() < deadline, s.llm.log()[-3000:]
            time.sleep(0.5)
        yield s
    finally:
        s.stop()


async def ask(client: ChatClient, cid: str, text: str, files: list[str]) -> dict[str, Any]:
    payload: dict[str, Any] = {"conversation_id": cid, "client_message_id": uuid.uuid4().hex,
                               "content": text}
    if files:
        payload["file_ids"] = files
    await client.ok("message.send", payload)
    return (await client.wait_done(cid, timeout=600))[-1]


@pytest.mark.timeout(1200)  # the model's load and two answers on a busy machine
async def test_a_file_reaches_the_local_model(local_stack: Stack) -> None:
    token, _ = local_stack.guest_token()
    client = await ChatClient(local_stack.chat.url, token).connect()
    try:
        sampling = {"temperature": 0, "max_tokens": 8}
        plain = (await client.ok("conversation.create", {"sampling": sampling}))["conversation"]
        without = await ask(client, plain["id"], QUESTION, [])
        conv = (await client.ok("conversation.create", {"sampling": sampling}))["conversation"]
        r = httpx.post(f"{local_stack.chat.url}/v1/files",
                       params={"conversation_id": conv["id"], "name": "notes.txt"},
                       content=NOTES.encode(), headers={"Authorization": f"Bearer {token}"},
                       timeout=60)
        assert r.status_code == 201, r.text
        with_file = await ask(client, conv["id"], QUESTION, [r.json()["file"]["id"]])
    finally:
        await client.close()
    assert with_file["status"] == "complete", with_file
    # llama.cpp's own count of the prompt: the file's ~50 words are in it.
    grown = with_file["usage"]["prompt_tokens"] - without["usage"]["prompt_tokens"]
    assert grown > 40, (with_file["usage"], without["usage"])
    assert "pineapple" in with_file["content"].lower(), with_file["content"]
    assert "pineapple" not in without["content"].lower()
