"""chatbot_common.netstream: httpcore's network stream on an asyncio protocol, driven through
httpx2 against real servers on loopback (plain, TLS with a certificate made here, one that
never answers, one that reads slowly, none at all)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import httpx2
import pytest
from chatbot_common.paced import PacedTransport
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LIMITS = httpx2.Limits(max_connections=4, max_keepalive_connections=4)


def _client(**kwargs: object) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=PacedTransport(LIMITS), **kwargs)  # type: ignore[arg-type]


async def _http_server(body: bytes) -> asyncio.Server:
    """Answers every request on a connection with ``body`` (keep-alive)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s"
                             % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


def _port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def test_requests_reuse_one_connection_and_large_bodies_arrive_whole() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB: many reads, split where the buffer ends
    server = await _http_server(body)
    async with server, _client() as client:
        for _ in range(3):
            r = await client.post(f"http://127.0.0.1:{_port(server)}/", content=b"x" * 300_000)
            assert r.status_code == 200 and r.content == body


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


async def test_https_goes_through_the_tls_handshake_and_checks_the_certificate(
    tmp_path: Path,
) -> None:
    cert, key = _certificate(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    url = f"https://localhost:{_port(server)}/"
    async with server:
        trusting = httpx2.AsyncClient(
            transport=PacedTransport(LIMITS, verify=ssl.create_default_context(cafile=cert)))
        async with trusting:
            r = await trusting.get(url)
            assert r.text == "secret"
            assert r.extensions["network_stream"].get_extra_info("ssl_object") is not None
        async with _client() as untrusting:  # the system's CAs do not know this certificate
            with pytest.raises(httpx2.ConnectError):
                await untrusting.get(url)


async def test_a_server_that_never_answers_times_out_as_a_read_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    async with server, _client(timeout=httpx2.Timeout(5.0, read=0.05)) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(f"http://127.0.0.1:{_port(server)}/")
    for w in accepted:
        w.close()


async def test_no_server_is_a_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = _port(server)
    server.close()
    await server.wait_closed()
    async with _client() as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_write_waits_for_a_slow_reader_and_times_out_when_it_stops() -> None:
    """Flow control: the transport's buffer fills while the server does not read; the write
    waits, bounded by the write timeout, instead of buffering without end."""
    stalled: list[asyncio.StreamWriter] = []

    async def never_reads(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled.append(writer)
        writer.transport.pause_reading()  # type: ignore[attr-defined]

    server = await asyncio.start_server(never_reads, "127.0.0.1", 0)
    timeout = httpx2.Timeout(5.0, write=0.2)
    async with server, _client(timeout=timeout) as client:
        with pytest.raises(httpx2.WriteTimeout):
            await client.post(f"http://127.0.0.1:{_port(server)}/", content=b"x" * 64_000_000)
    for w in stalled:
        w.close()
