"""Issue 16, finding 10: one internal token per caller, each accepted only where it is needed.

The internet-facing UI holds UI_INTERNAL_TOKEN, which the LLM service accepts for its model
list and nothing else; the history service does not know it at all. The chat service's
CHAT_INTERNAL_TOKEN opens both internal services. A hostile client who took over the UI
process (and its token) can neither spend the upstream's budget nor read anyone's history.
"""

from __future__ import annotations

import httpx2 as httpx

from tests.support.stack import Stack

COMPLETION = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def call(method: str, url: str, token: str, body: object = None) -> httpx.Response:
    headers = {"X-User-Id": "guest-a", "Authorization": f"Bearer {token}"}
    return httpx.request(method, url, headers=headers, json=body, timeout=30)


def test_the_uis_token_reads_the_model_list_and_nothing_else(stack: Stack) -> None:
    ui = stack.ui_internal_token
    assert ui and ui != stack.internal_token
    assert call("GET", stack.llm.url + "/v1/models", ui).status_code == 200
    refused = [
        ("POST", stack.llm.url + "/v1/chat/completions", COMPLETION),
        ("GET", stack.history.url + "/v1/conversations", None),
        ("POST", stack.history.url + "/v1/conversations", {"title": "x"}),
        ("GET", stack.history.url + "/v1/streaming-messages", None),
    ]
    for method, url, body in refused:
        r = call(method, url, ui, body)
        assert r.status_code == 401, (method, url, r.status_code, r.text)
        assert r.json()["error"]["code"] == "unauthorized"


def test_the_chat_services_token_opens_both_internal_services(stack: Stack) -> None:
    chat = stack.internal_token
    assert call("GET", stack.history.url + "/v1/conversations", chat).status_code == 200
    assert call("GET", stack.llm.url + "/v1/models", chat).status_code == 200
    r = call("POST", stack.llm.url + "/v1/chat/completions", chat, COMPLETION)
    assert r.status_code == 200, r.text


def test_the_page_still_lists_models_through_the_ui(stack: Stack) -> None:
    r = httpx.get(stack.ui.url + "/models.json", timeout=30)
    assert r.status_code == 200 and r.json()["models"], r.text
