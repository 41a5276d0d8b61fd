"""Limits before a request reaches the app: open connections, and time and bytes of its head.

uvicorn holds a new connection for as long as its request head trickles in (and one that
sends nothing forever), and its parser keeps every header it is sent. This protocol (uvicorn's
httptools one, passed as ``http=``) closes a connection whose head is not complete within
``HEADER_TIMEOUT_SECONDS`` or grows past ``MAX_HEADER_BYTES`` (431), and answers 503 at once
to connections beyond ``MAX_OPEN_CONNECTIONS`` (plain HTTP and WebSocket alike: both count).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

_REASONS = {431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


class GuardedHttpProtocol(HttpToolsProtocol):
    """Configured by subclassing through :func:`guarded_protocol`."""

    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024
    max_connections: int = 10_000

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        # Beyond the cap: answered 503 when its request arrives (so the client can read it).
        self._over_cap = len(self.connections) > self.max_connections
        if self._over_cap:
            log.warning("connection refused: too many open connections",
                        extra={"open": len(self.connections), "limit": self.max_connections})
        self._await_head()

    def _await_head(self) -> None:
        if self._head_timer is None:
            self._head_bytes = 0
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _head_done(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            log.info("connection closed: no complete request head in time",
                     extra={"timeout": self.header_timeout})
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        self._head_done()
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, _REASONS[status], len(body), body)
        )
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._over_cap:
            if not self.transport.is_closing():
                self._refuse(503, "too many open connections")
            return
        waiting = self._head_timer is not None
        if waiting:
            self._head_bytes += len(data)
        super().data_received(data)
        if waiting and self._head_timer is not None and self._head_bytes > self.max_header_bytes:
            self._refuse(431, "the request head is too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_head()  # the next request on a kept-alive connection

    def on_headers_complete(self) -> None:
        self._head_done()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)


def guarded_protocol(
    *, header_timeout: float, max_header_bytes: int, max_connections: int
) -> type[GuardedHttpProtocol]:
    limits: dict[str, Any] = {
        "header_timeout": header_timeout,
        "max_header_bytes": max_header_bytes,
        "max_connections": max_connections,
    }
    return type("GuardedHttp", (GuardedHttpProtocol,), limits)
