"""The LLM service as a real process in front of fake upstreams, driven by the openai client."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import httpx2 as httpx
import openai
import pytest
from openai import OpenAI

from tests.support.holds import Hold
from tests.support.processes import Proc, start_process, start_service

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


@pytest.fixture(scope="module")
def primary() -> Iterator[Proc]:
    proc = start_fake("primary", FAKE_RETRY_AFTER="1")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def fallback() -> Iterator[Proc]:
    proc = start_fake("fallback", FAKE_RETRY_AFTER="30")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def gateway(primary: Proc, fallback: Proc) -> Iterator[Proc]:
    proc = start_service("llm_service", env=gateway_env(primary, [fallback]))
    yield proc
    proc.stop()


@pytest.fixture
def client(gateway: Proc) -> OpenAI:
    return OpenAI(base_url=f"{gateway.url}/v1", api_key=TOKEN, max_retries=0, timeout=60)


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
    """Paced reads (STREAM_READ_INTERVAL_MS, 25 by default) and one write per read: the fake
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


def test_429_is_retried_after_retry_after(client: OpenAI, gateway: Proc, primary: Proc) -> None:
    question = unique("[fault:429x1@primary] busy")
    retries = metric_value(
        gateway, "llm_retries_total", upstream=primary_name(primary), missing_is_zero=True
    )
    started = time.monotonic()
    text, _ = stream_text(client, question)
    elapsed = time.monotonic() - started
    assert text.startswith("Echo: busy")
    assert [r["fault"] for r in seen_by(primary, question)] == ["429", "none"]
    assert elapsed >= 0.9  # the fake's Retry-After: 1 was honoured
    after = metric_value(gateway, "llm_retries_total", upstream=primary_name(primary))
    assert after == retries + 1


def test_500_is_retried_then_the_fallback_answers(
    client: OpenAI, primary: Proc, fallback: Proc
) -> None:
    question = unique("[fault:500@primary] broken")
    answer = client.chat.completions.create(
        model="primary-model", messages=[{"role": "user", "content": question}]
    )
    assert (answer.choices[0].message.content or "").startswith("Echo: broken")
    assert answer.model == "fallback-model"
    assert len(seen_by(primary, question)) == 1 + MAX_RETRIES
    assert len(seen_by(fallback, question)) == 1


def test_stall_before_first_token_is_retried(client: OpenAI, primary: Proc) -> None:
    question = unique("[fault:stall-firstx1@primary] slow start")
    text, _ = stream_text(client, question)
    assert text.startswith("Echo: slow start")
    assert [r["fault"] for r in seen_by(primary, question)] == ["stall-first", "none"]


def test_stall_mid_stream_ends_with_a_clean_error(client: OpenAI) -> None:
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(openai.APIError) as caught:
        collect(
            client.chat.completions.create(
                model="primary-model",
                messages=[{"role": "user", "content": unique("[fault:stall] halfway")}],
                stream=True,
            ),
            received,
        )
    elapsed = time.monotonic() - started
    assert "".join(received).startswith("Echo: halfway")
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "upstream_error"
    assert elapsed < IDLE_TIMEOUT + 15  # ended by the idle timeout, not the 60 s stall


def test_dropped_connection_mid_stream_is_a_clean_error(client: OpenAI) -> None:
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        collect(
            client.chat.completions.create(
                model="primary-model",
                messages=[{"role": "user", "content": unique("[fault:drop] cut")}],
                stream=True,
            ),
            received,
        )
    assert "".join(received).startswith("Echo: cut")
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "upstream_error"
    assert caught.value.body["type"] == "api_error"


def test_dropped_connection_without_stream_is_502(client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="primary-model",
            messages=[{"role": "user", "content": unique("[fault:drop] whole")}],
        )
    assert caught.value.status_code == 502
    assert caught.value.response.json()["error"]["code"] == "upstream_error"


def test_every_upstream_failing_is_upstream_error(client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="primary-model",
            messages=[{"role": "user", "content": unique("[fault:500] everywhere")}],
        )
    assert caught.value.status_code == 502
    error = caught.value.response.json()["error"]
    assert set(error) == {"message", "type", "code"}
    assert error["code"] == "upstream_error"


def test_every_upstream_rate_limited_is_rate_limited(client: OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        stream_text(client, unique("[fault:429] everywhere"))
    assert caught.value.response.json()["error"]["code"] == "rate_limited"
    assert int(caught.value.response.headers["retry-after"]) >= 1


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


def test_internal_token_is_required(gateway: Proc) -> None:
    anonymous = OpenAI(base_url=f"{gateway.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        anonymous.models.list()
    assert caught.value.response.json()["error"]["code"] == "unauthorized"
    response = httpx.get(f"{gateway.url}/v1/models", timeout=5)
    assert response.status_code == 401


def test_models_lists_every_upstream(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["primary-model", "fallback-model"]


def test_invalid_and_too_large_requests(gateway: Proc) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{gateway.url}/v1/chat/completions"
    empty = httpx.post(url, json={"messages": []}, headers=headers, timeout=5)
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "invalid"
    bad_role = httpx.post(
        url, json={"messages": [{"role": "wizard", "content": "x"}]}, headers=headers, timeout=5
    )
    assert bad_role.json()["error"]["code"] == "invalid"
    huge = {"messages": [{"role": "user", "content": "x" * (5 << 20)}]}
    too_large = httpx.post(url, json=huge, headers=headers, timeout=30)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "too_large"


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


def primary_name(primary: Proc) -> str:
    return f"127.0.0.1:{primary.port}"


def test_circuit_breaker_opens_and_skips_the_failing_upstream() -> None:
    broken = start_fake("broken", FAKE_FAULT="500")
    spare = start_fake("spare")
    gateway = start_service(
        "llm_service",
        env=gateway_env(
            broken, [spare], LLM_BREAKER_FAILURES="2", LLM_MAX_RETRIES="0",
            LLM_BREAKER_RESET_SECONDS="600",
        ),
    )
    try:
        client = OpenAI(base_url=f"{gateway.url}/v1", api_key=TOKEN, max_retries=0)
        for i in range(5):
            answer = client.chat.completions.create(
                model="primary-model", messages=[{"role": "user", "content": f"try {i}"}]
            )
            assert answer.model == "fallback-model"
        broken_seen = httpx.get(f"{broken.url}/_fake/requests", timeout=5).json()["count"]
        spare_seen = httpx.get(f"{spare.url}/_fake/requests", timeout=5).json()["count"]
        assert broken_seen == 2  # then the circuit opened: requests 3-5 skipped it
        assert spare_seen == 5
        name = f"127.0.0.1:{broken.port}"
        assert metric_value(gateway, "llm_circuit_state", upstream=name) == 2
        assert metric_value(gateway, "llm_circuit_state", upstream="fallback") == 0
    finally:
        gateway.stop()
        broken.stop()
        spare.stop()


def test_client_leaving_mid_stream_closes_the_upstream_stream(
    gateway: Proc, primary: Proc
) -> None:
    name = primary_name(primary)
    before = metric_value(
        gateway, "llm_requests_total", upstream=name, outcome="cancelled", missing_is_zero=True
    )
    # the upstream pauses after its first token until released, so the client surely leaves
    # mid-stream however slow the machine is (a free-running answer could finish first)
    hold = Hold.new()
    body = {
        "messages": [{"role": "user", "content": unique(f"{hold.tag} long answer")}],
        "stream": True,
    }
    try:
        with httpx.stream(
            "POST", f"{gateway.url}/v1/chat/completions", json=body,
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60,
        ) as response:
            lines = response.iter_lines()
            assert next(lines).startswith("data: ")
            hold.wait_held_sync(primary.url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if metric_value(
                gateway, "llm_requests_total", upstream=name, outcome="cancelled",
                missing_is_zero=True,
            ) == before + 1:
                break
            time.sleep(0.1)
    finally:
        hold.release(primary.url)
    after = metric_value(gateway, "llm_requests_total", upstream=name, outcome="cancelled")
    assert after == before + 1
