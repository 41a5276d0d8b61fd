"""httpcore's network stream on a plain asyncio protocol: what each read of a hop costs.

httpcore's anyio stream wraps every read in ``anyio.fail_after`` (a cancel scope: the current
task looked up, a timer, the scope's bookkeeping on entry and exit) and anyio's own stream
(a resource guard, a checkpoint). py-spy, 200 streams at 20 ms per token: a fifth of the chat
service's CPU went to reading its answers' SSE from the LLM service, mostly that machinery,
not the bytes. ``ProtocolStream`` does what anyio's stream does for asyncio, directly:

- reading is resumed when a read finds nothing buffered and paused again when the buffer is
  drained (as anyio does), so bytes that arrive between two reads wait in the kernel and come
  as one ``recv``: a paced read (``chatbot_common.paced``) carries everything its interval
  brought;
- a read's timeout is one timer handle on the loop, not a cancel scope;
- a write goes straight to the transport and waits only while the transport asks it to
  (flow control), bounded by its timeout;
- the pool's idle check (``is_readable``) is answered from what the protocol already knows
  (bytes or the peer's end seen) and otherwise by a ``poll`` of the socket.

Errors are httpcore's own (``ConnectError``, ``ReadTimeout``...), so httpx maps them as before.
"""

# ruff: noqa: ASYNC109 (httpcore's network interface takes timeouts as arguments)
from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections import deque
from collections.abc import Coroutine, Iterable
from typing import Any, cast

import httpcore2


def is_readable(sock: socket.socket | None) -> bool:
    """Whether a ``recv`` would return at once (data, or the peer's end): httpcore's test of an
    idle connection, on a socket already at hand. No socket (closed): readable, as there."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Protocol(asyncio.Protocol):
    """Buffers what the transport delivers; wakes the one reader or writer waiting."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.ended = False  # the peer's end, or the connection lost
        self.error: BaseException | None = None
        self.reader: asyncio.Future[None] | None = None
        self.writable: asyncio.Future[None] | None = None  # set while writing is paused

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance check
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self._wake_reader()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake_reader()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake_reader()
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def pause_writing(self) -> None:
        if self.writable is None or self.writable.done():
            self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def _wake_reader(self) -> None:
        if self.reader is not None and not self.reader.done():
            self.reader.set_result(None)


class ProtocolStream(httpcore2.AsyncNetworkStream):
    """One connection, as httpcore reads and writes it."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        # looked up once: the pool asks often, and a closed TLS transport no longer answers
        self._socket: socket.socket | None = transport.get_extra_info("socket")
        self._extra = {"ssl_object": transport.get_extra_info("ssl_object"),
                       "client_addr": transport.get_extra_info("sockname"),
                       "server_addr": transport.get_extra_info("peername")}
        transport.pause_reading()  # resumed by a read that finds nothing buffered

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        p = self._protocol
        if not p.chunks and not p.ended:
            loop = asyncio.get_running_loop()
            p.reader = waiter = loop.create_future()
            timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
            self._transport.resume_reading()
            try:
                await waiter
            except TimeoutError:
                raise httpcore2.ReadTimeout("timed out reading") from None
            finally:
                p.reader = None
                if timer is not None:
                    timer.cancel()
        if p.chunks:
            data = p.chunks.popleft()
            if len(data) > max_bytes:
                p.chunks.appendleft(data[max_bytes:])
                data = data[:max_bytes]
            if not p.chunks and not p.ended:
                self._transport.pause_reading()
            return data
        if p.error is not None:
            raise httpcore2.ReadError(str(p.error) or type(p.error).__name__)
        return b""  # the peer's end

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        p = self._protocol
        if self._transport.is_closing() or p.error is not None:
            raise httpcore2.WriteError("the connection is closed")
        self._transport.write(buffer)
        if p.writable is not None and not p.writable.done():  # the transport's buffer is full
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(p.writable)
            except TimeoutError:
                raise httpcore2.WriteTimeout("timed out writing") from None
            if p.error is not None:
                raise httpcore2.WriteError(str(p.error) or type(p.error).__name__)

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(self._transport, self._protocol, ssl_context,
                                           server_hostname=server_hostname)
        except TimeoutError:
            self._transport.close()
            raise httpcore2.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        if tls is None:
            raise httpcore2.ConnectError("the TLS handshake did not complete")
        self._protocol.transport = tls
        return ProtocolStream(tls, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # the pool's check of every idle connection
            p = self._protocol
            return bool(p.chunks) or p.ended or is_readable(self._socket)
        if info == "socket":
            return self._socket
        return self._extra.get(info)


async def connect_tcp(
    host: str,
    port: int,
    timeout: float | None = None,
    local_address: str | None = None,
    socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
) -> ProtocolStream:
    """A TCP connection (asyncio sets TCP_NODELAY on it, as anyio does)."""
    loop = asyncio.get_running_loop()
    local = None if local_address is None else (local_address, 0)
    return await _connect(loop.create_connection(_Protocol, host, port, local_addr=local),
                          f"{host}:{port}", timeout, socket_options)


async def connect_unix_socket(
    path: str,
    timeout: float | None = None,
    socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
) -> ProtocolStream:
    loop = asyncio.get_running_loop()
    return await _connect(loop.create_unix_connection(_Protocol, path), path, timeout,
                          socket_options)


async def _connect(
    opening: Coroutine[Any, Any, tuple[asyncio.BaseTransport, _Protocol]],
    where: str,
    timeout: float | None,
    options: Iterable[httpcore2.SOCKET_OPTION] | None,
) -> ProtocolStream:
    """``opening`` within ``timeout``, its errors as httpcore's, the socket options set."""
    try:
        async with asyncio.timeout(timeout):
            transport, protocol = await opening
    except TimeoutError:
        raise httpcore2.ConnectTimeout(f"timed out connecting to {where}") from None
    except OSError as exc:
        raise httpcore2.ConnectError(str(exc)) from exc
    _apply(transport, options)
    return ProtocolStream(cast(asyncio.Transport, transport), protocol)


def _apply(transport: asyncio.BaseTransport,
           options: Iterable[httpcore2.SOCKET_OPTION] | None) -> None:
    sock = transport.get_extra_info("socket")
    for option in options or ():
        sock.setsockopt(*option)
