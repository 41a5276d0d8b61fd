"""Finding 3: a client may only pick a model the operator offers.

The LLM service lists its allow-list at /v1/models (LLM_MODEL + LLM_MODELS, fallbacks, or the
local model) and refuses any other model (``invalid``); the chat service refuses such a model
in conversation.create; the page's model list (/models.json) offers exactly the allowed ones.
"""

from __future__ import annotations

import uuid

import httpx2 as httpx

from tests.security._hostile import ack_error, chat_client, guest
from tests.support.stack import Stack

FOREIGN = "meta/llama-3.1-405b-instruct"


async def test_models_outside_the_allow_list_are_refused(hostile: Stack) -> None:
    auth = {"Authorization": f"Bearer {hostile.internal_token}"}
    direct = httpx.post(
        hostile.llm.url + "/v1/chat/completions", headers=auth, timeout=30,
        json={"model": FOREIGN, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert direct.status_code == 422, direct.text
    assert direct.json()["error"]["code"] == "invalid"

    c = await chat_client(hostile, guest(hostile, "10.3.0.1"))
    try:
        ack = await c.call("conversation.create", {"model": FOREIGN})
        assert ack_error(ack) == "invalid"
        listed_convs = (await c.ok("conversation.list", {}))["conversations"]
        assert listed_convs == []  # nothing was created
        listed = httpx.get(hostile.llm.url + "/v1/models", headers=auth, timeout=10).json()
        assert [m["id"] for m in listed["data"]] == ["fake/echo-1", "fake/echo-2"]
        page = httpx.get(hostile.ui.url + "/models.json", timeout=10).json()
        assert [m["id"] for m in page["models"]] == ["fake/echo-1", "fake/echo-2"]
        # An offered model still works, and answers come from it.
        cid = (await c.ok("conversation.create", {"model": "fake/echo-2"}))["conversation"]["id"]
        await c.ok("message.send", {"conversation_id": cid, "client_message_id": uuid.uuid4().hex,
                                    "content": "which model?"})
        done = (await c.wait_done(cid))[0]
        assert done["status"] == "complete" and done["model"] == "fake/echo-2", done
    finally:
        await c.close()
