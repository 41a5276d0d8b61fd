"""``lean_socket``: Engine.IO WebSocket connections read in one loop, against a real uvicorn on
loopback and a raw WebSocket client; and the one-timer reading deadline on its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from chat_service.early_refusal import AdmittingServer
from chat_service.lean_socket import LeanSocket, _Silence
from websockets.asyncio.client import ClientConnection, connect


async def test_silence_cancels_a_reader_that_hears_nothing() -> None:
    async def read() -> _Silence:
        silence = _Silence(0.05)
        silence.waiting = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        return silence

    silence = await asyncio.wait_for(read(), 10)
    assert silence.expired


async def test_silence_spares_a_reader_that_hears_or_is_busy() -> None:
    silence = _Silence(0.05)
    silence.waiting = True
    for _ in range(6):  # a frame every 20 ms: never 50 ms of silence
        await asyncio.sleep(0.02)
        silence.heard = silence.loop.time()
    silence.waiting = False  # handling a message, however long, is not silence
    await asyncio.sleep(0.15)
    assert not silence.expired
    silence.cancel()


@pytest.fixture
async def server() -> AsyncIterator[tuple[AdmittingServer, str, asyncio.Event]]:
    sio = AdmittingServer(async_mode="asgi", ping_interval=1, ping_timeout=1)
    gone = asyncio.Event()

    @sio.on("echo")  # type: ignore[misc]
    async def echo(sid: str, data: Any) -> Any:
        await sio.emit("echoed", data, to=sid)
        return {"ok": True, "data": data}

    @sio.on("disconnect")  # type: ignore[misc]
    async def disconnect(sid: str, reason: Any) -> None:
        gone.set()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(sio_app(sio), log_config=None, lifespan="off")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:  # noqa: ASYNC110 - uvicorn has no event for it
        await asyncio.sleep(0.01)
    try:
        yield sio, f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", gone
    finally:
        uv.should_exit = True
        await task


def sio_app(sio: AdmittingServer) -> Any:
    import socketio

    return socketio.ASGIApp(sio)


async def joined(url: str) -> ClientConnection:
    ws = await connect(url)
    assert str(await ws.recv()).startswith("0")
    await ws.send("40")
    assert str(await ws.recv()).startswith("40")
    return ws


async def test_a_websocket_connection_is_lean_and_carries_events_both_ways(
    server: tuple[AdmittingServer, str, asyncio.Event],
) -> None:
    sio, url, gone = server
    ws = await joined(url)
    assert all(type(s) is LeanSocket for s in sio.eio.sockets.values())
    for i in range(20):  # in order, each acked, each emitted back
        await ws.send(f"42{i}" + json.dumps(["echo", {"n": i}]))
        got = [str(await ws.recv()), str(await ws.recv())]
        assert "42" + json.dumps(["echoed", {"n": i}], separators=(",", ":")) in got
        assert f"43{i}" + json.dumps([{"ok": True, "data": {"n": i}}],
                                     separators=(",", ":")) in got
    await ws.close()
    async with asyncio.timeout(10):
        await gone.wait()
    assert not sio.eio.sockets


async def test_a_client_that_stops_answering_is_dropped(
    server: tuple[AdmittingServer, str, asyncio.Event],
) -> None:
    sio, url, gone = server
    ws = await joined(url)
    async with asyncio.timeout(20):  # pings every 1 s, 1 s to answer: never answered
        with contextlib.suppress(Exception):
            while True:
                assert str(await ws.recv()) == "2"
        await gone.wait()
    assert not sio.eio.sockets
