"""The LLM service as a real process in front of fake upstreams: how to start them, and what
its tests ask of them (unique questions, the requests a fake saw, metrics)."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterable
from typing import Any

import httpx2 as httpx
from openai import OpenAI

from tests.support.processes import Proc, start_process

TOKEN = "internal-test-token"
IDLE_TIMEOUT = 3.0
FIRST_TOKEN_TIMEOUT = 5.0
MAX_RETRIES = 2


def start_fake(name: str, **env: str) -> Proc:
    return start_process(
        f"fake-{name}",
        [sys.executable, "-m", "tests.support.fake_upstream", "--name", name],
        env={"FAKE_TOKENS": "20", "FAKE_TOKEN_MS": "2", "FAKE_STALL_SECONDS": "60", **env},
    )


def gateway_env(primary: Proc, fallbacks: list[Proc], **extra: str) -> dict[str, str]:
    return {
        "LLM_BASE_URL": f"{primary.url}/v1",
        "LLM_API_KEY": "upstream-key",
        "NVIDIA_API_KEY": "",
        "LLM_MODEL": "primary-model",
        "LLM_FALLBACKS": json.dumps(
            [{"base_url": f"{f.url}/v1", "model": "fallback-model", "name": "fallback"}
             for f in fallbacks]
        ),
        "INTERNAL_TOKEN": TOKEN,
        "LLM_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
        "LLM_FIRST_TOKEN_TIMEOUT": str(FIRST_TOKEN_TIMEOUT),
        "LLM_MAX_RETRIES": str(MAX_RETRIES),
        "LLM_RETRY_BASE_DELAY": "0.05",
        "LLM_RETRY_MAX_DELAY": "2",
        "LLM_BREAKER_FAILURES": "1000",
        "LLM_CONTEXT_TOKENS": "2048",
        "LLM_MAX_TOKENS": "256",
        "LLM_MAX_REQUEST_BYTES": str(4 << 20),
        **extra,
    }


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:8]}"


def seen_by(fake: Proc, needle: str) -> list[dict[str, Any]]:
    """The requests ``fake`` received whose last message contains ``needle``."""
    requests = httpx.get(f"{fake.url}/_fake/requests", timeout=5).json()["requests"]
    return [r for r in requests if needle in str(r["body"]["messages"][-1]["content"])]


def stream_text(client: OpenAI, content: str, **kwargs: Any) -> tuple[str, list[Any]]:
    chunks = list(
        client.chat.completions.create(
            model="primary-model",
            messages=[{"role": "user", "content": content}],
            stream=True,
            **kwargs,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def collect(stream: Iterable[Any], received: list[str]) -> None:
    """Read a streamed answer into ``received`` (raises where the stream fails)."""
    for chunk in stream:
        received.extend(c.delta.content or "" for c in chunk.choices)


def metric_value(
    gateway: Proc, name: str, *, missing_is_zero: bool = False, **labels: str
) -> float:
    """The sum of the metric's samples with these labels; fails when there is none (a missing
    metric is not a zero), unless the caller reads a count before the first such event."""
    body = httpx.get(f"{gateway.url}/metrics", timeout=30).text
    samples = []
    for line in body.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            samples.append(float(line.rsplit(" ", 1)[1]))
    assert samples or missing_is_zero, f"no sample of {name} with {labels} in /metrics"
    return sum(samples)


def primary_name(primary: Proc) -> str:
    return f"127.0.0.1:{primary.port}"
