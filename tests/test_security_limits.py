"""Limits trigger and recover on a real stack started with low limits; secrets stay out of logs.

Limits here: 8 events/s per connection, 5 messages per 20 s per user, 300 tokens per 6 s per
user, 2 connections per user. Each refusal is a ``rate_limited`` ack (or a refused connect)
carrying ``retry_after``; waiting that long is enough to be admitted again. The clients here see
every refusal (they do not wait out ``retry_after`` by themselves). Windows are sized so that a
slow, busy machine still sends a test's burst within one window; the per-second burst is sent
to a frozen (SIGSTOP) chat service, so it arrives at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import socketio

from tests.support.chat_client import ChatClient
from tests.support.stack import Stack, start_stack

LIMITS = {
    "RATE_EVENTS_PER_SECOND": "8",
    "RATE_MESSAGES_PER_MINUTE": "5",
    "RATE_MESSAGES_WINDOW_SECONDS": "20",
    "RATE_TOKENS_PER_DAY": "300",
    "RATE_TOKENS_WINDOW_SECONDS": "6",
    "MAX_CONNECTIONS_PER_USER": "2",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("limits")),
        chat_env=LIMITS,
        upstream_env={"FAKE_TTFT_MS": "5", "FAKE_TOKEN_MS": "1", "FAKE_TOKENS": "3"},
    )
    try:
        yield s
    finally:
        s.stop()


async def connect(stack: Stack, token: str | None = None) -> ChatClient:
    token = token or stack.guest_token()[0]
    return await ChatClient(
        stack.chat.url, token, origin=stack.ui.url, honour_retry_after=False
    ).connect()


def limit_of(ack: dict[str, Any]) -> str:
    """Which limit refused: the words after "too many" in the error message."""
    assert ack.get("ok") is False, f"not refused: {ack}"
    message: str = ack["error"]["message"]
    assert message.startswith("too many "), ack
    return message.removeprefix("too many ").split(";")[0]


def retry_after(ack: dict[str, Any], at_most: float) -> float:
    assert ack["ok"] is False, ack
    error = ack["error"]
    assert error["code"] == "rate_limited", ack
    wait = error["retry_after"]
    assert isinstance(wait, (int, float)) and 0 < wait <= at_most, ack
    return float(wait)


async def send(c: ChatClient, cid: str, content: str) -> dict[str, Any]:
    payload = {"conversation_id": cid, "client_message_id": uuid.uuid4().hex, "content": content}
    return await c.call("message.send", payload)


async def test_events_per_second_per_connection(limited: Stack) -> None:
    c = await connect(limited)
    other = await connect(limited)
    try:
        # The 20 events wait in the socket while the service is frozen, then arrive together.
        os.kill(limited.chat.pid, signal.SIGSTOP)
        try:
            calls = asyncio.gather(*(c.call("conversation.list", {}) for _ in range(20)))
            await asyncio.sleep(0.5)  # let the client write them all
        finally:
            os.kill(limited.chat.pid, signal.SIGCONT)
        acks = await calls
        refused = [a for a in acks if not a["ok"]]
        assert len(acks) - len(refused) == 8, acks
        waits = [retry_after(a, 1.0) for a in refused]
        assert {limit_of(a) for a in refused} == {"events on this connection"}
        # Another connection of the same user has its own budget.
        assert (await other.call("conversation.list", {}))["ok"] is True
        await asyncio.sleep(max(waits))
        assert (await c.call("conversation.list", {}))["ok"] is True
    finally:
        await c.close()
        await other.close()


async def test_messages_per_window_per_user(limited: Stack) -> None:
    token, _ = limited.guest_token()
    c = await connect(limited, token)
    try:
        cid = (await c.ok("conversation.create", {}))["conversation"]["id"]
        for i in range(5):
            assert (await send(c, cid, f"message {i}"))["ok"] is True
        # The limit is the user's: a second connection does not get a new budget.
        c2 = await connect(limited, token)
        ack = await send(c2, cid, "one too many")
        await c2.close()
        wait = retry_after(ack, 20.0)
        assert limit_of(ack) == "messages", ack
        await c.wait_done(cid, count=5)
        got = await c.ok("conversation.get", {"conversation_id": cid})
        assert "one too many" not in [m["content"] for m in got["messages"]]  # nothing stored
        await asyncio.sleep(wait)
        assert (await send(c, cid, "after the wait"))["ok"] is True
    finally:
        await c.close()


async def test_tokens_per_window_per_user(limited: Stack) -> None:
    c = await connect(limited)
    try:
        cid = (await c.ok("conversation.create", {}))["conversation"]["id"]
        long = " ".join(f"w{i}" for i in range(320))  # the fake counts one token per word
        assert (await send(c, cid, long))["ok"] is True
        done = (await c.wait_done(cid))[0]
        assert done["usage"]["prompt_tokens"] + done["usage"]["completion_tokens"] > 300
        # The usage is counted just after message.done is emitted: one more message may get
        # in first; by the end of its answer the usage is counted for sure. The short ones go
        # to a new conversation, so each costs a few tokens (no long history in its prompt).
        # The messages limit (5) cannot fire here: this is about the tokens.
        short = (await c.ok("conversation.create", {}))["conversation"]["id"]
        for answered in range(1, 3):
            ack = await send(c, short, "short")
            if not ack["ok"]:
                break
            await c.wait_done(short, count=answered)
        assert limit_of(ack) == "tokens", ack
        wait = retry_after(ack, 6.0)
        await asyncio.sleep(wait)
        again = await send(c, short, "short again")
        assert again["ok"] is True, again
    finally:
        await c.close()


async def test_connections_per_user(limited: Stack) -> None:
    token, _ = limited.guest_token()
    first, second = await connect(limited, token), await connect(limited, token)
    # A client cannot free its slot by sending the server's own event names.
    for name in ("disconnect", "connect"):
        ack = await first.call(name, {}, timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid", ack
    third = ChatClient(limited.chat.url, token, origin=limited.ui.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await third.connect()
    await third.close()
    other_user = await connect(limited)  # other users are not affected
    await first.close()
    deadline = asyncio.get_running_loop().time() + 60
    while True:  # the server sees the disconnect shortly after
        again = ChatClient(limited.chat.url, token, origin=limited.ui.url)
        try:
            await again.connect()
            break
        except socketio.exceptions.ConnectionError:
            await again.close()
            assert asyncio.get_running_loop().time() < deadline, "the slot was never freed"
            await asyncio.sleep(0.1)
    assert again.sio.connected
    for c in (again, second, other_user):
        await c.close()


async def test_secrets_never_logged(limited: Stack, stack: Stack) -> None:
    """Run the logged paths (bad tokens, errors, answers, refusals), then read every log."""
    bad = ChatClient(limited.chat.url, "x.y.z", origin=limited.ui.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await bad.connect()
    await bad.close()
    async with httpx.AsyncClient(timeout=10) as http:
        await http.post(limited.ui.url + "/auth/guest", json={"token": "not-a-token"})
        await http.get(limited.history.url + "/v1/conversations", headers={"X-User-Id": "u"})
    c = await connect(limited)
    cid = (await c.ok("conversation.create", {}))["conversation"]["id"]
    await send(c, cid, "hello [fault:500]")
    await c.close()
    await asyncio.sleep(0.5)
    for s in (limited, stack):
        secrets = {"AUTH_SECRET": s.auth_secret, "CHAT_INTERNAL_TOKEN": s.internal_token,
                   "UI_INTERNAL_TOKEN": s.ui_internal_token, "LLM_API_KEY": "test-upstream-key"}
        for proc in (s.history, s.llm, s.chat, s.ui):  # our services (not the fake upstream)
            text = proc.log()
            assert text, proc.name
            for name, value in secrets.items():
                assert value not in text, f"{name} appears in the log of {proc.name}"
