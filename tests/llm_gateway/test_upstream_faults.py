"""The LLM service when an upstream fails: retries, the fallback, stalls, dropped
connections, the circuit breaker, and a client that leaves mid-stream."""

from __future__ import annotations

import time

import httpx2 as httpx
import openai
import pytest
from openai import OpenAI

from tests.support.holds import Hold
from tests.support.llm_gateway import (
    IDLE_TIMEOUT,
    MAX_RETRIES,
    TOKEN,
    collect,
    gateway_env,
    metric_value,
    primary_name,
    seen_by,
    start_fake,
    stream_text,
    unique,
)
from tests.support.processes import Proc, start_service


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
