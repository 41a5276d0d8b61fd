"""Finding 8: no resource is held without limit before sign-in.

- A socket that never joins the namespace is closed after NAMESPACE_CONNECT_TIMEOUT_SECONDS;
  one that joined stays.
- A request head that trickles in (slowloris), or never starts, is cut off after
  HEADER_TIMEOUT_SECONDS; a head larger than MAX_HEADER_BYTES gets 431.
- Connections beyond MAX_OPEN_CONNECTIONS get 503 at once, and are admitted again once
  others close.
- Every HTTP service refuses a body over its MAX_REQUEST_BYTES with 413 before reading it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from tests.security._hostile import (
    closed_within,
    guest,
    join,
    open_engineio,
    raw_http,
    status_of,
)
from tests.support.processes import Proc, start_service
from tests.support.stack import Stack

HEAD_TIMEOUT = 2
CAP = 20


def chat_alone(stack: Stack, **env: str) -> Proc:
    return start_service("chat_service", env={
        "AUTH_SECRET": stack.auth_secret, "STATE_DIR": str(stack.state_dir),
        "CHAT_INTERNAL_TOKEN": stack.internal_token, "ALLOWED_ORIGINS": "*",
        "HISTORY_SERVICE_URL": stack.history.url, "LLM_SERVICE_URL": stack.llm.url + "/v1",
        **env,
    })


@pytest.fixture(scope="module")
def strict_chat(hostile: Stack) -> Iterator[Proc]:
    chat = chat_alone(hostile, NAMESPACE_CONNECT_TIMEOUT_SECONDS=str(HEAD_TIMEOUT),
                      HEADER_TIMEOUT_SECONDS=str(HEAD_TIMEOUT))
    try:
        yield chat
    finally:
        chat.stop()


async def test_sockets_that_never_join_are_closed(hostile: Stack, strict_chat: Proc) -> None:
    idle = [await open_engineio(strict_chat.url) for _ in range(3)]
    joined = await open_engineio(strict_chat.url)
    await join(joined, guest(hostile, "10.8.0.1"))
    for ws in idle:
        assert await closed_within(ws, HEAD_TIMEOUT + 20)
    assert not await closed_within(joined, HEAD_TIMEOUT + 1)  # signed in: it stays
    await joined.close()


def trickle_closed_after(port: int, first: bytes, seconds: float) -> float | None:
    """Send ``first`` then one header byte every 0.25 s; seconds until the server closes."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        if first:
            s.sendall(first)
        while time.monotonic() - started < seconds:
            try:
                if first:
                    s.sendall(b"X")
                if s.recv(1024) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                continue
            except OSError:
                return time.monotonic() - started
            time.sleep(0.25)
    return None


def test_slow_and_huge_heads_are_cut_off(strict_chat: Proc) -> None:
    slow = trickle_closed_after(strict_chat.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-", 30)
    silent = trickle_closed_after(strict_chat.port, b"", 30)
    assert slow is not None and slow < HEAD_TIMEOUT + 15, slow
    assert silent is not None and silent < HEAD_TIMEOUT + 15, silent
    huge = b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + b"X-Fill: " + b"a" * 200_000 + b"\r\n\r\n"
    try:
        answer = raw_http(strict_chat.port, huge)
    except OSError:  # reset while we were still sending: refused as well
        answer = b""
    assert status_of(answer) in (0, 431), answer[:100]
    # An ordinary request on the same server is answered.
    assert httpx.get(strict_chat.url + "/healthz", timeout=10).status_code == 200


def test_connections_beyond_the_cap_get_503(hostile: Stack) -> None:
    chat = chat_alone(hostile, MAX_OPEN_CONNECTIONS=str(CAP), HEADER_TIMEOUT_SECONDS="120")
    held: list[socket.socket] = []
    try:
        for _ in range(CAP):
            held.append(socket.create_connection(("127.0.0.1", chat.port), timeout=10))
        time.sleep(0.5)  # the server has accepted them
        refused = raw_http(chat.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        assert status_of(refused) == 503, refused[:100]
        for s in held[:5]:
            s.close()
        deadline = time.monotonic() + 30
        while True:  # the server sees the closes shortly after
            answer = raw_http(chat.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
                                         b"Connection: close\r\n\r\n")
            if status_of(answer) == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status_of(answer) == 200, answer[:100]
    finally:
        for s in held:
            s.close()
        chat.stop()


@pytest.mark.parametrize("service", ["ui", "chat", "history", "llm"])
async def test_every_http_service_limits_bodies(hostile: Stack, service: str) -> None:
    proc, path = {"ui": (hostile.ui, "/auth/guest"), "chat": (hostile.chat, "/healthz"),
                  "history": (hostile.history, "/v1/conversations"),
                  "llm": (hostile.llm, "/v1/chat/completions")}[service]
    headers = {"Authorization": f"Bearer {hostile.internal_token}", "X-User-Id": "guest-b",
               "Content-Type": "application/json"}
    body = b'{"pad": "' + b"a" * (10 << 20) + b'"}'  # a field no route reads
    async with httpx.AsyncClient(timeout=30) as http:
        declared = await http.post(proc.url + path, content=body, headers=headers)

        async def chunks() -> object:
            for i in range(0, len(body), 1 << 16):
                yield body[i : i + (1 << 16)]
                await asyncio.sleep(0)

        streamed = await http.post(proc.url + path, content=chunks(), headers=headers)
    assert declared.status_code == 413, (service, declared.status_code)
    assert declared.json()["error"]["code"] == "too_large"
    # The chat service's own HTTP routes (probes) never read a body: refused unread.
    assert streamed.status_code in ((413, 405) if service == "chat" else (413,)), (
        service, streamed.status_code)
