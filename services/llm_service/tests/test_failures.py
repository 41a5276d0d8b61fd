from __future__ import annotations

import httpx2
import openai
import pytest
from llm_service.failures import classify, retry_after_seconds
from llm_service.gateway import Gateway
from llm_service.settings import LlmSettings


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://upstream/v1/chat/completions")
    response = httpx2.Response(status, headers=headers, request=request, json={"error": {}})
    return openai.APIStatusError("failed", response=response, body={"error": {"message": "m"}})


@pytest.mark.parametrize(
    ("status", "reason", "retryable", "fallback", "code"),
    [
        (429, "rate_limited", True, True, "rate_limited"),
        (500, "server_error", True, True, "upstream_error"),
        (503, "server_error", True, True, "upstream_error"),
        (400, "invalid_request", False, False, "invalid"),
        (401, "client_error", False, True, "upstream_error"),
    ],
)
def test_status_errors(
    status: int, reason: str, retryable: bool, fallback: bool, code: str
) -> None:
    failure = classify(status_error(status))
    assert (failure.reason, failure.retryable, failure.fallback) == (reason, retryable, fallback)
    assert failure.error().code == code


def test_timeouts_and_connection_errors_are_retryable() -> None:
    assert classify(TimeoutError()).reason == "timeout"
    request = httpx2.Request("POST", "http://upstream/")
    assert classify(openai.APIConnectionError(request=request)).reason == "connection"


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after": "3"}) == 3
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({}) is None
    failure = classify(status_error(429, {"Retry-After": "2"}))
    assert failure.retry_after == 2


def test_backoff_is_capped_jittered_and_skips_long_retry_after() -> None:
    settings = LlmSettings(LLM_RETRY_BASE_DELAY=0.5, LLM_RETRY_MAX_DELAY=2, LLM_API_KEY="k")
    gateway = Gateway(settings, list)
    for attempt in range(1, 8):
        delay = gateway.backoff(attempt, None)
        assert delay is not None
        cap = min(2, 0.5 * 2 ** (attempt - 1))
        assert cap / 2 <= delay <= cap
    assert gateway.backoff(1, 1.5) == 1.5
    assert gateway.backoff(1, 30) is None
