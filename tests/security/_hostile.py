"""Tools of the hostile-client tests: raw Engine.IO sockets, guests from chosen addresses.

The attacks speak the wire protocols directly (a WebSocket carrying Engine.IO v4 and
Socket.IO v5 packets, raw TCP for HTTP), because well-behaved client libraries cannot send
what an attacker sends.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from typing import Any

import httpx2 as httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.support.chat_client import ChatClient
from tests.support.stack import Stack

#: The page's public address in the hostile stacks (PUBLIC_URL); clients send it as Origin.
PAGE = "http://chatbot.example.test"


def guest(stack: Stack, address: str) -> str:
    """A new guest token, minted as if from ``address`` (through the trusted loopback proxy)."""
    r = httpx.post(stack.ui.url + "/auth/guest", headers={"X-Forwarded-For": address}, timeout=10)
    r.raise_for_status()
    token: str = r.json()["token"]
    return token


async def chat_client(stack: Stack, token: str, origin: str = PAGE) -> ChatClient:
    return await ChatClient(stack.chat.url, token, origin=origin).connect()


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"


async def open_engineio(http_url: str, origin: str = PAGE) -> ClientConnection:
    """An Engine.IO WebSocket past its OPEN packet (not yet in any Socket.IO namespace)."""
    ws = await connect(
        ws_url(http_url), additional_headers={"Origin": origin}, max_size=None, open_timeout=15
    )
    opened = await asyncio.wait_for(ws.recv(), 15)
    assert isinstance(opened, str) and opened.startswith("0"), opened
    return ws


async def join(ws: ClientConnection, token: str) -> None:
    """Socket.IO CONNECT to the default namespace with ``token``; wait for its answer."""
    await ws.send("40" + json.dumps({"token": token}))
    while True:
        reply = await asyncio.wait_for(ws.recv(), 15)
        if reply == "2":  # an Engine.IO ping meanwhile
            await ws.send("3")
            continue
        assert isinstance(reply, str) and reply.startswith("40"), reply
        return


async def closed_within(ws: ClientConnection, seconds: float) -> bool:
    """Whether the server closes ``ws`` within ``seconds`` (pings are answered meanwhile)."""
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            message = await asyncio.wait_for(ws.recv(), left)
            if message == "2":
                await ws.send("3")
    except TimeoutError:
        return False
    except Exception:  # ConnectionClosed: what we wait for
        return True
    return False


def raw_http(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes on a fresh TCP connection, return everything the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


def ack_error(ack: dict[str, Any]) -> str:
    assert ack.get("ok") is False, ack
    code: str = ack["error"]["code"]
    return code


FLOOD_RECONNECT_PAUSE = 0.2  # seconds between a dropped socket and its next connection


def binary_flood(url: str, tokens: list[str], seconds: float, out: Any) -> None:
    """Child process: one socket per token floods ``url`` with binary attachments for
    ``seconds``, reconnecting whenever the server drops it; puts its tallies on ``out``."""
    tally = {"connections": 0, "dropped": 0, "sent": 0}
    frame = os.urandom(64 * 1024)

    async def one(token: str, until: float) -> None:
        sent = 0
        while time.monotonic() < until and sent < FLOOD_MAX_BYTES_PER_SOCKET:
            try:
                ws = await open_engineio(url)
                tally["connections"] += 1
                await join(ws, token)
                await ws.send(BINARY_HEADER)
                while time.monotonic() < until and sent < FLOOD_MAX_BYTES_PER_SOCKET:
                    await ws.send(frame)
                    sent += len(frame)
                    tally["sent"] += len(frame)
            except Exception:
                tally["dropped"] += 1
                # Churn bounded like a reconnecting client (5 sockets, ~25 connections a second):
                # this test is about buffered attachments; unthrottled reconnects (3,000 in 30 s)
                # cost ~7 KB of RSS each, a connection-rate matter left to a later limit.
                await asyncio.sleep(FLOOD_RECONNECT_PAUSE)
            else:
                await ws.close()

    async def run() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(one(t, until) for t in tokens))

    asyncio.run(run())
    out.put(tally)


#: A Socket.IO BINARY_EVENT (in an Engine.IO message) announcing 9,999,999,999 attachments.
BINARY_HEADER = '459999999999-["message.send",{"_placeholder":true,"num":0}]'
#: What one flooding socket sends at most, so that a broken build cannot exhaust the machine.
FLOOD_MAX_BYTES_PER_SOCKET = 150 * 1024 * 1024
