"""The LLM service's answers, driven by the openai client: usage, SSE, few writes, the default
system prompt, trimmed history, the models of every upstream, the metrics of the traffic."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
from openai import OpenAI

from tests.support.llm_gateway import (
    TOKEN,
    metric_value,
    primary_name,
    seen_by,
    stream_text,
    unique,
)
from tests.support.processes import Proc


def test_non_streamed_answer_with_usage(client: OpenAI, primary: Proc) -> None:
    question = unique("hello there my friend")
    answer = client.chat.completions.create(
        model="primary-model", messages=[{"role": "user", "content": question}]
    )
    text = answer.choices[0].message.content or ""
    assert text.startswith("Echo: hello there my friend")
    assert text.split()[-1] == "w14"  # 20 tokens: Echo: + 5 words + w1..w14
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "primary-model"
    sent = seen_by(primary, question)[-1]["body"]["messages"]
    expected_prompt = sum(len(m["content"].split()) + 4 for m in sent)
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 20
    assert answer.usage.prompt_tokens == expected_prompt
    assert answer.usage.total_tokens == expected_prompt + 20


def test_streamed_answer_ends_with_usage_when_asked(client: OpenAI) -> None:
    question = unique("stream me please")
    text, chunks = stream_text(client, question, stream_options={"include_usage": True})
    assert text.startswith("Echo: stream me please")
    assert len(text.split()) == 20
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20
    assert [c for c in chunks[:-1] if c.usage is not None] == []

    _, plain = stream_text(client, unique("no usage please"))
    assert all(c.usage is None for c in plain)
    assert plain[-1].choices[0].finish_reason == "stop"


def test_raw_stream_is_sse_ending_in_done(gateway: Proc) -> None:
    body = {"messages": [{"role": "user", "content": unique("raw")}], "stream": True}
    with httpx.stream(
        "POST", f"{gateway.url}/v1/chat/completions", json=body,
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"


def test_a_fast_answer_goes_out_in_a_few_writes(gateway: Proc) -> None:
    """Paced reads (STREAM_READ_INTERVAL_MS, 50 by default) and one write per read: the fake
    upstream's 20 tokens 2 ms apart (one write each) reach the client in a few HTTP chunks
    (a write per token, unpaced), text intact."""
    body = {"messages": [{"role": "user", "content": unique("fast")}], "stream": True}
    with httpx.stream(
        "POST", f"{gateway.url}/v1/chat/completions", json=body,
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
    ) as response:
        writes = list(response.iter_raw())  # one item per HTTP chunk: per write of the gateway
    events = [line[6:] for line in b"".join(writes).decode().split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    tokens = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(tokens) >= 16  # "Echo:", the question's words, then w1 w2 ...
    assert len(writes) <= len(tokens) // 2, len(writes)  # the first token, a few reads, the end


def test_default_system_prompt_and_upstream_key(client: OpenAI, primary: Proc) -> None:
    question = unique("is there a system prompt")
    client.chat.completions.create(
        model="primary-model", messages=[{"role": "user", "content": question}]
    )
    seen = seen_by(primary, question)[-1]
    assert seen["body"]["messages"][0]["role"] == "system"
    assert seen["headers"]["authorization"] == "Bearer upstream-key"
    assert seen["body"]["model"] == "primary-model"


def test_long_history_is_trimmed(client: OpenAI, gateway: Proc, primary: Proc) -> None:
    trimmed_before = metric_value(gateway, "llm_context_trimmed_messages_total")
    history: list[Any] = [{"role": "system", "content": "You are terse. SYSTEM-MARK"}]
    for i in range(1000):
        history.append({"role": "user", "content": f"question {i} " + "words " * 20})
        history.append({"role": "assistant", "content": f"answer {i} " + "words " * 20})
    question = unique("the last question")
    history.append({"role": "user", "content": question})
    answer = client.chat.completions.create(model="primary-model", messages=history)
    assert (answer.choices[0].message.content or "").startswith("Echo: the last question")

    sent = seen_by(primary, question)[-1]["body"]["messages"]
    assert sent[0]["content"] == "You are terse. SYSTEM-MARK"
    assert sent[-1]["content"] == question
    assert 3 < len(sent) < 200
    kept = sent[1:-1]
    assert kept == history[len(history) - 1 - len(kept) : -1]  # the newest turns, whole
    assert kept[0]["role"] == "user"
    dropped = len(history) - len(sent)
    after = metric_value(gateway, "llm_context_trimmed_messages_total")
    assert after - trimmed_before == dropped


def test_models_lists_every_upstream(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["primary-model", "fallback-model"]


def test_metrics_describe_the_traffic(client: OpenAI, gateway: Proc, primary: Proc) -> None:
    stream_text(client, unique("count me"))
    name = primary_name(primary)
    assert metric_value(gateway, "llm_requests_total", upstream=name, outcome="ok") >= 1
    assert metric_value(gateway, "llm_time_to_first_token_seconds_count", upstream=name) >= 1
    # Once per upstream read (paced reads gather several chunks): the mean gap of its chunks,
    # about the fake's 2 ms, not the 25 ms between two paced reads.
    gaps = metric_value(gateway, "llm_inter_token_latency_seconds_count", upstream=name)
    total = metric_value(gateway, "llm_inter_token_latency_seconds_sum", upstream=name)
    assert gaps >= 1 and total / gaps < 0.02, (gaps, total)
    assert metric_value(gateway, "llm_tokens_total", upstream=name, kind="completion") >= 20
    assert metric_value(gateway, "llm_circuit_state", upstream=name) == 0
    assert httpx.get(f"{gateway.url}/readyz", timeout=5).status_code == 200
