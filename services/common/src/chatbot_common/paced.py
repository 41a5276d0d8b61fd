"""Paced reads through aiohttp: work per read, not per token, for a streamed HTTP response.

A hop that reads as soon as bytes arrive pays a wake-up, a read, a parse and a write per token
of a fast model (5 ms per token: 200 of each per second per answer). A *paced* response, once
its first chunk has gone on, reads at most once per ``interval()`` seconds: what arrives
meanwhile waits in the socket (its reading paused) and comes as one ``recv``, one parse and one
read, so one read (and what the caller does per read) carries every token of that interval.
Nothing is ever dropped or reordered, and a read in progress (no bytes there yet) is answered
as soon as they come.

``AiohttpTransport`` is an httpx2 transport on aiohttp, for the ``openai`` client of the LLM
service. httpx2's own transport parses HTTP/1.1 with h11, in Python, one event per chunk, and a
model's stream sends each token as a chunk of its own: every token paid h11's parsing (a
quarter of the LLM service's CPU per token at 20 ms per token). aiohttp parses with llhttp, in
C, into the buffer that a paced read empties. The ``openai`` client keeps its API; it gets
httpx2 requests, responses and errors as before:

| aiohttp | httpx2 |
| --- | --- |
| ``ConnectionTimeoutError`` (no connection, or no free one, in time) | ``ConnectTimeout`` |
| ``SocketTimeoutError`` (no byte for the read timeout) | ``ReadTimeout`` |
| ``ClientConnectorError`` (refused, unresolvable, TLS refused) | ``ConnectError`` |
| any other ``ClientError`` or ``OSError`` (reset, closed mid-body) | ``ReadError`` |

Bodies stay encoded (``auto_decompress`` off): httpx2 decodes them from the headers, as it does
for its own transport. Redirects are not followed (httpx2's choice, made above the transport).
"""

from __future__ import annotations

import asyncio
import io
import ssl
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import httpx2

__all__ = ["AiohttpTransport", "Interval", "PacedBody", "pace"]

Interval = Callable[[], float]

#: Request bodies above this (bytes) are sent from a file object (aiohttp's own bound).
LARGE_BODY = 1 << 20
#: Idle connections close after this (seconds): below uvicorn's keep-alive of 5 s, so the
#: pool never hands out a connection the server is closing.
KEEPALIVE_SECONDS = 4.0


def _error(exc: BaseException, request: httpx2.Request) -> httpx2.TransportError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx2.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.SocketTimeoutError | asyncio.TimeoutError):
        return httpx2.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx2.ConnectError(message, request=request)
    return httpx2.ReadError(message, request=request)


class PacedBody(httpx2.AsyncByteStream):
    """A response's body; while ``interval`` is set, read at most once per ``interval()``
    seconds (what arrives meanwhile waits in the socket and comes as one read)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx2.Request) -> None:
        self._response = response
        self._request = request
        self.interval: Interval | None = None
        self._last_read = 0.0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            if self.interval is not None:
                wait = self._last_read + self.interval() - time.monotonic()
                if wait > 0:
                    await self._hold(wait)
            try:
                data = await content.readany()
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                raise _error(exc, self._request) from exc
            self._last_read = time.monotonic()
            if not data:
                return
            yield data

    async def _hold(self, wait: float) -> None:
        """Sleep ``wait`` seconds with the connection's socket unread: what arrives meanwhile
        waits in the kernel and comes in one ``recv`` and one parse. Left reading, the event
        loop would wake, read and parse once per chunk, so once per token of a model."""
        connection = self._response.connection
        protocol = connection.protocol if connection is not None else None
        if protocol is None or protocol.transport is None or self._response.content.at_eof():
            await asyncio.sleep(wait)
            return
        protocol.pause_reading()  # aiohttp's own flow control; its read timeout stops too
        try:
            await asyncio.sleep(wait)
        finally:
            if protocol.transport is not None:  # not closed meanwhile
                protocol.resume_reading()

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()  # the connection goes back to the pool
        else:
            self._response.close()  # left mid-body: the connection cannot serve another


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """httpx2 requests through one aiohttp session (HTTP/1.1, pooled, no proxy)."""

    def __init__(self, limits: httpx2.Limits, verify: ssl.SSLContext | None = None) -> None:
        """``limits.max_connections``: connections open at once (None: unbounded);
        ``verify``: the TLS context (default: the system's CAs)."""
        self._limit = limits.max_connections or 0
        self._keepalive = min(limits.keepalive_expiry or KEEPALIVE_SECONDS, KEEPALIVE_SECONDS)
        self._ssl: ssl.SSLContext | bool = verify if verify is not None else True
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:  # made on first use, in its loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, limit_per_host=0,
                                               keepalive_timeout=self._keepalive, ssl=self._ssl),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        t = request.extensions.get("timeout") or {}
        connect, pool = t.get("connect"), t.get("pool")
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's connect includes the wait for a free connection: httpx2's pool + connect
            connect=None if connect is None and pool is None else (connect or 0) + (pool or 0),
            sock_connect=connect,
            sock_read=t.get("read"),
        )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        body = await request.aread()
        # aiohttp warns that a large bytes body blocks the loop: handed as a file, it is not
        data: bytes | io.BytesIO | None = (
            io.BytesIO(body) if len(body) > LARGE_BODY else body or None)
        try:
            response = await self._http().request(
                request.method, str(request.url), data=data, headers=headers,
                timeout=timeout, allow_redirects=False)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _error(exc, request) from exc
        stream = PacedBody(response, request)
        return httpx2.Response(
            response.status,
            headers=[(k, v) for k, v in response.raw_headers],
            stream=stream,
            extensions={"http_version": b"HTTP/1.1",
                        "reason_phrase": (response.reason or "").encode("latin-1"),
                        "network_stream": stream},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def pace(response: httpx2.Response, interval: Interval | None) -> None:
    """Read ``response``'s body at most once per ``interval()`` seconds from now on (None: as
    soon as bytes arrive). A response not read through ``AiohttpTransport`` is left as is."""
    stream = response.extensions.get("network_stream")
    if isinstance(stream, PacedBody):
        stream.interval = interval
