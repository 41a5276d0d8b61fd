"""Requests the LLM service refuses: without its internal token, invalid, too large."""

from __future__ import annotations

import httpx2 as httpx
import openai
import pytest
from openai import OpenAI

from tests.support.llm_gateway import TOKEN
from tests.support.processes import Proc


def test_internal_token_is_required(gateway: Proc) -> None:
    anonymous = OpenAI(base_url=f"{gateway.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        anonymous.models.list()
    assert caught.value.response.json()["error"]["code"] == "unauthorized"
    response = httpx.get(f"{gateway.url}/v1/models", timeout=5)
    assert response.status_code == 401


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
