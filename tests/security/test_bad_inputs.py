"""Finding 6: inputs that gave 500s (or crashed deep in a driver) get ``invalid`` or 404.

``after_seq: 2**70`` (SQLite integer overflow), a lone surrogate in content, title, system
prompt or search (UnicodeEncodeError in the store), a NUL byte in a vendor path (a 500 without
the security headers), a binary placeholder pointing past its attachments (IndexError).
Nothing is stored by a refused event; every service keeps running and nothing is logged as
an unexpected error.
"""

from __future__ import annotations

import httpx2 as httpx

from tests.security._hostile import ack_error, chat_client, closed_within, guest, join
from tests.security._hostile import open_engineio as open_eio
from tests.support.stack import Stack

LONE = "\ud800"


async def test_refused_inputs_never_reach_a_store(hostile: Stack) -> None:
    c = await chat_client(hostile, guest(hostile, "10.6.0.1"))
    try:
        conv = (await c.ok("conversation.create", {"title": "kept"}))["conversation"]
        cid = conv["id"]
        for huge in (2**70, 2**63, 2**53):
            ack = await c.call("conversation.get", {"conversation_id": cid, "after_seq": huge})
            assert ack_error(ack) == "invalid", (huge, ack)
        ok = await c.ok("conversation.get", {"conversation_id": cid, "after_seq": 2**53 - 1})
        assert ok["messages"] == []
        bad_calls = [
            ("conversation.create", {"title": "a" + LONE}),
            ("conversation.create", {"system_prompt": LONE + "b"}),
            ("conversation.create", {"model": LONE}),
            ("conversation.rename", {"conversation_id": cid, "title": LONE}),
            ("conversation.search", {"query": "x" + LONE}),
            ("message.send", {"conversation_id": cid, "client_message_id": "m1",
                              "content": "hi " + LONE}),
            ("conversation.list", {"before": LONE}),
        ]
        for event, payload in bad_calls:
            assert ack_error(await c.call(event, payload)) == "invalid", (event, payload)
        # A valid astral character (a surrogate *pair* in JSON) is text like any other.
        ack = await c.ok("message.send", {"conversation_id": cid, "client_message_id": "m2",
                                          "content": "emoji \U0001f600"})
        await c.wait_done(cid)
        got = await c.ok("conversation.get", {"conversation_id": cid})
        assert got["conversation"]["title"] == "kept"
        assert [m["content"] for m in got["messages"] if m["role"] == "user"] == [
            "emoji \U0001f600"]
        assert ack["message"]["seq"] == 1
        assert len((await c.ok("conversation.list", {}))["conversations"]) == 1
    finally:
        await c.close()

    # The history service refuses the same text itself (defence in depth), 422 not 500.
    r = httpx.post(
        hostile.history.url + "/v1/conversations", timeout=10,
        headers={"Authorization": f"Bearer {hostile.internal_token}", "X-User-Id": "guest-x",
                 "Content-Type": "application/json"},
        content=b'{"title": "\\ud800"}',
    )
    assert r.status_code == 422, r.text
    r = httpx.get(
        f"{hostile.history.url}/v1/conversations/{cid}/messages?after_seq={2**70}", timeout=10,
        headers={"Authorization": f"Bearer {hostile.internal_token}", "X-User-Id": "guest-x"},
    )
    assert r.status_code == 422, r.text


def test_nul_in_a_vendor_path_is_not_found(hostile: Stack) -> None:
    for path in ("/vendor/marked/%00.js", "/vendor/marked/a%00b/marked.esm.js",
                 "/static/%00.js", "/static/js/%00"):
        r = httpx.get(hostile.ui.url + path, timeout=10)
        assert r.status_code == 404, (path, r.status_code)
        assert "content-security-policy" in r.headers, path
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_binary_placeholder_past_the_end_is_refused(hostile: Stack) -> None:
    token = guest(hostile, "10.6.0.2")
    for packet in ('451-["conversation.list",{"_placeholder":true,"num":7}]',
                   '45["conversation.list",{"_placeholder":true,"num":0}]'):
        ws = await open_eio(hostile.chat.url)
        await join(ws, token)
        await ws.send(packet)
        await ws.send(b"\x00")
        assert await closed_within(ws, 15), packet
    for proc in (hostile.chat, hostile.ui, hostile.history, hostile.llm):
        assert proc.alive()
        assert "IndexError" not in proc.log() and "Traceback" not in proc.log(), proc.name
