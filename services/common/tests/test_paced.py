"""chatbot_common.paced: httpx2 requests through aiohttp, against real servers on loopback
(keep-alive, gzip, TLS, chunked bodies read paced, a server that never answers or stops
mid-body, none at all, a pool with no free connection)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import itertools
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from aiohttp import web
from chatbot_common.paced import AiohttpTransport, pace
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _client(max_connections: int = 4, **kwargs: object) -> httpx2.AsyncClient:
    limits = httpx2.Limits(max_connections=max_connections)
    return httpx2.AsyncClient(transport=AiohttpTransport(limits), **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _site(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _chunked(chunks: list[bytes]) -> web.Application:
    """An app whose ``GET /`` sends ``chunks``, one write each, 5 ms apart."""

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for c in chunks:
            await resp.write(c)
            await asyncio.sleep(0.005)
        return resp

    app = web.Application()
    app.router.add_get("/", stream)
    return app


async def test_requests_and_answers_arrive_whole_over_one_connection() -> None:
    peers: set[object] = set()

    async def echo(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        body = await request.read()
        return web.Response(body=body[::-1], headers={"X-Seen": request.headers["X-Mine"]})

    app = web.Application(client_max_size=4 << 20)
    app.router.add_post("/", echo)
    async with _site(app) as url, _client() as client:
        for i in range(3):
            body = bytes(range(256)) * 4096 + bytes([i])  # 1 MiB each way
            r = await client.post(url + "/", content=body, headers={"X-Mine": str(i)})
            assert r.status_code == 200 and r.headers["x-seen"] == str(i)
            assert r.content == body[::-1]
    assert len(peers) == 1  # kept alive and reused


async def test_an_encoded_body_is_decoded_by_httpx() -> None:
    text = b"the same words again " * 500

    async def zipped(_: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(text), headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/", zipped)
    async with _site(app) as url, _client() as client:
        r = await client.get(url + "/")
        assert r.content == text


async def test_a_paced_body_reads_at_most_once_per_interval_and_loses_nothing() -> None:
    chunks = [f"data: {i}\n\n".encode() for i in range(30)]

    app = _chunked(chunks)
    async with _site(app) as url, _client() as client, client.stream("GET", url + "/") as r:
        pace(r, lambda: 0.05)
        reads: list[tuple[float, bytes]] = []
        async for data in r.aiter_raw():
            reads.append((time.monotonic(), data))
    assert b"".join(d for _, d in reads) == b"".join(chunks)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(reads)]
    assert all(g >= 0.045 for g in gaps), gaps  # a busy machine only makes them longer
    assert len(reads) < len(chunks)


async def test_a_server_that_never_answers_is_a_read_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, _client(timeout=httpx2.Timeout(5.0, read=0.05)) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(f"http://127.0.0.1:{port}/")
    for w in accepted:
        w.close()


async def test_a_body_cut_off_is_a_read_error() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(cut, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, _client() as client, client.stream(
            "GET", f"http://127.0.0.1:{port}/") as r:
        with pytest.raises(httpx2.ReadError):
            await r.aread()


async def test_no_server_is_a_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with _client() as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_no_free_connection_in_time_is_a_connect_timeout() -> None:
    release = asyncio.Event()

    async def held(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"first")
        await release.wait()
        return resp

    app = web.Application()
    app.router.add_get("/", held)
    timeout = httpx2.Timeout(5.0, connect=0.05, pool=0.05)
    async with (
        _site(app) as url,
        _client(1, timeout=timeout) as client,
        client.stream("GET", url + "/") as first,  # holds the only connection
    ):
        body = first.aiter_raw()  # held: a generator dropped would close the response
        assert await anext(body) == b"first"
        with pytest.raises(httpx2.ConnectTimeout):
            await client.get(url + "/")
        release.set()


async def test_pace_leaves_a_response_of_another_transport_alone() -> None:
    response = httpx2.Response(200, content=b"x")
    pace(response, lambda: 1.0)  # nothing to pace: no error, nothing changed
    assert "network_stream" not in response.extensions


def _certificate(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def test_https_checks_the_certificate(tmp_path: Path) -> None:
    """A hosted model is reached over TLS: a certificate the context trusts is accepted, one
    the system's CAs do not know is refused as a connect error."""
    cert, key = _certificate(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    url = f"https://localhost:{server.sockets[0].getsockname()[1]}/"
    trusted = AiohttpTransport(httpx2.Limits(max_connections=2),
                               verify=ssl.create_default_context(cafile=cert))
    async with server, httpx2.AsyncClient(transport=trusted) as trusting:
        assert (await trusting.get(url)).text == "secret"
        async with _client() as untrusting:
            with pytest.raises(httpx2.ConnectError):
                await untrusting.get(url)


async def test_between_paced_reads_the_socket_is_not_read() -> None:
    """What arrives while a paced body waits stays in the kernel: the connection's protocol
    gets it in a few deliveries, not one per chunk."""
    chunks = [f"data: {i}\n\n".encode() for i in range(40)]

    app = _chunked(chunks)
    deliveries: list[int] = []
    async with _site(app) as url, _client() as client, client.stream("GET", url + "/") as r:
        stream_ = r.extensions["network_stream"]
        protocol = stream_._response.connection.protocol  # noqa: SLF001 (what is observed)
        received = protocol.data_received

        def counted(data: bytes) -> None:
            if data:
                deliveries.append(len(data))
            received(data)

        protocol.data_received = counted  # type: ignore[method-assign]
        pace(r, lambda: 0.1)
        start = time.monotonic()
        body = b"".join([data async for data in r.aiter_raw()])
        windows = (time.monotonic() - start) / 0.1
    assert body == b"".join(chunks)
    # at most one delivery per read (every 100 ms), not one per chunk (every 5 ms)
    assert 0 < len(deliveries) <= windows + 2, (deliveries, windows)
