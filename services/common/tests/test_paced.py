"""chatbot_common.paced: after the first chunk, at most one network read per interval, so one
read (and one list of ``gathered``) carries what arrived meanwhile. Event-driven: the pacing
wait is replaced by one that waits for the test's event, never for the clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpcore2
import httpx2
import pytest
from chatbot_common import paced
from chatbot_common.gather import gathered


class Inner(httpcore2.AsyncNetworkStream):
    def __init__(self) -> None:
        self.reads = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        self.reads += 1
        return b"x"


async def test_a_paced_read_waits_out_the_interval_since_the_previous_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(paced, "sleep", fake_sleep)
    inner = Inner()
    stream = paced.PacedStream(inner)
    await stream.read(10)
    await stream.read(10)
    assert slept == []  # not paced: reads as bytes come
    asked = []
    stream.interval = lambda: asked.append(1) or 3600.0
    await stream.read(10)
    assert slept == [pytest.approx(3600.0, abs=60)]  # an hour after the previous read
    assert len(asked) == 1  # the interval is asked at each read (it may grow with lag)
    stream.interval = lambda: 0.0
    await stream.read(10)
    assert len(slept) == 1 and inner.reads == 4


CHUNK = b"data: %d\n\n"


def _frame(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def test_one_paced_read_brings_every_chunk_written_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    may_write, written = asyncio.Event(), asyncio.Event()
    slept: list[float] = []

    async def wait_for_the_writes(seconds: float) -> None:  # the pacing wait
        slept.append(seconds)
        may_write.set()
        await written.wait()

    monkeypatch.setattr(paced, "sleep", wait_for_the_writes)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"transfer-encoding: chunked\r\n\r\n" + _frame(CHUNK % 1))
        await writer.drain()
        await may_write.wait()
        for i in range(2, 7):  # five writes, the loop turning between them
            writer.write(_frame(CHUNK % i))
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        written.set()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    client = httpx2.AsyncClient(transport=paced.PacedTransport(limits))
    async with server, client, client.stream("GET", f"http://127.0.0.1:{port}/") as response:

        async def body() -> AsyncIterator[bytes]:
            chunks = response.aiter_raw()
            yield await anext(chunks)
            paced.pace(response, lambda: 3600.0)  # the first chunk came at once
            async for chunk in chunks:
                yield chunk

        got = [batch async for batch in gathered(body())]
        paced.pace(response, None)
    assert got == [[CHUNK % 1], [CHUNK % i for i in range(2, 7)]]
    assert len(slept) == 1  # one paced wait, then one read for the five writes


async def test_pace_leaves_a_response_of_another_transport_alone() -> None:
    response = httpx2.Response(200, extensions={"network_stream": Inner()})
    paced.pace(response, lambda: 1.0)  # no PacedStream: nothing to do, no failure
    paced.pace(httpx2.Response(200), None)


async def test_the_pools_idle_check_polls_the_socket_kept_at_connect() -> None:
    """httpcore asks each idle connection whether its server hung up (``is_readable``) on every
    request: answered by a poll of the socket looked up once at connect, false while the server
    is quiet, true once it closed (httpcore's own test, without anyio's attribute lookups)."""
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        stream = await paced.PacedBackend().connect_tcp("127.0.0.1", port)
        writer = await asyncio.wait_for(accepted.get(), 30)
        raw = stream.get_extra_info("socket")
        assert raw is not None and raw.getpeername()[1] == port
        assert stream.get_extra_info("is_readable") is False
        writer.close()
        assert await stream.read(10, timeout=30) == b""  # the server's end came
        assert stream.get_extra_info("is_readable") is True  # and stays readable
        await stream.aclose()
        assert paced.is_readable(None) is True  # no socket: as httpcore, readable (dead)
    finally:
        server.close()
