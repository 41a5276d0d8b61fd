"""Paced reads: work per read, not per token, for a streamed HTTP response.

A hop that reads as soon as bytes arrive pays a wake-up, a read, a parse and a write per token
of a fast model (5 ms per token: 200 of each per second per answer). A *paced* response, once
its first chunk has gone on, reads at most once per ``interval()`` seconds: the previous read
returned, the next network read waits until ``interval`` has passed since then, and the kernel
gathers what arrives meanwhile, so one read (and what the caller does per read) carries every
token of that interval. Nothing is ever dropped or reordered; the bytes only wait in the
socket's buffer, at most ``interval``, and a read in progress (bytes not there yet) is answered
as soon as they come, as before.

The hook is httpcore's network backend (``PacedTransport``): every connection's stream is a
``PacedStream``, unpaced until ``pace(response, interval)`` turns it on for one response's
body (``pace(response, None)`` off again, before the connection goes back to the pool). Pacing
sits below the HTTP parser, so the chunks one read brought come out of ``aiter_raw`` without
another read: pacing never delays a chunk that is already here.

The connections themselves are ``chatbot_common.netstream``'s: httpcore's stream on a plain
asyncio protocol, without anyio's per-read cancel scope, and with a cheap idle check.
"""

# ruff: noqa: ASYNC109 (httpcore's network interface takes timeouts as arguments)
from __future__ import annotations

import asyncio
import ssl
import time
from asyncio import sleep
from collections.abc import Callable, Iterable
from typing import Any

import httpcore2
import httpx2

from . import netstream
from .aio_transport import PacedBody
from .netstream import is_readable

__all__ = ["Interval", "PacedBackend", "PacedStream", "PacedTransport", "is_readable", "pace"]

Interval = Callable[[], float]


class PacedStream(httpcore2.AsyncNetworkStream):
    """A network stream whose reads, while ``interval`` is set, come at most once per
    ``interval()`` seconds (0 or less: at once)."""

    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self._stream = stream
        self.interval: Interval | None = None
        self._last_read = 0.0  # when the previous read returned (time.monotonic)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self.interval is not None:
            wait = self._last_read + self.interval() - time.monotonic()
            if wait > 0:
                await sleep(wait)
        data = await self._stream.read(max_bytes, timeout)
        self._last_read = time.monotonic()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        return PacedStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class PacedBackend(httpcore2.AsyncNetworkBackend):
    """Connections on asyncio protocols (``netstream``), as ``PacedStream``s."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        return PacedStream(await netstream.connect_tcp(
            host, port, timeout=timeout, local_address=local_address,
            socket_options=socket_options))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        return PacedStream(await netstream.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options))

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class PacedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's transport (HTTP/1.1, no proxy) on a connection pool of ``PacedStream``s."""

    def __init__(self, limits: httpx2.Limits, verify: ssl.SSLContext | None = None) -> None:
        """``verify``: the TLS context (default: httpx's, the system's CAs)."""
        super().__init__(limits=limits)
        # The pool httpx2 builds, with one change: httpcore's documented network_backend.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=verify or httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PacedBackend(),
        )


def pace(response: httpx2.Response, interval: Interval | None) -> None:
    """Read ``response``'s body at most once per ``interval()`` seconds from now on (None: as
    soon as bytes arrive). A response not read through ``PacedTransport`` or
    ``aio_transport.AiohttpTransport`` is left as it is."""
    stream = response.extensions.get("network_stream")
    if isinstance(stream, PacedStream | PacedBody):
        stream.interval = interval
