"""Engine.IO-level rules, before any Socket.IO event handler runs.

- **No binary.** The contract has no binary payloads. A binary Engine.IO message, or a
  Socket.IO ``BINARY_EVENT``/``BINARY_ACK`` packet (which announces attachments the server would
  buffer until they all arrive, up to 9,999,999,999 of them), closes the connection at once.
  Over WebSocket this happens in :class:`RefuseBinaryFrames`, at the ASGI layer: the frame
  never reaches Engine.IO and the connection is dropped at once (Engine.IO's own disconnect
  only asks the client to go, and keeps reading what it sends meanwhile). Over HTTP
  long-polling, :class:`ProtocolGuard` ends the Engine.IO session (its next request is refused).
- **Sign in or leave.** A connection that has not joined the namespace (connect with a valid
  token) ``NAMESPACE_CONNECT_TIMEOUT_SECONDS`` after it opened is closed.

Installed by wrapping the handlers the Socket.IO server registered on its Engine.IO server
(``eio.on`` and ``eio.handlers``: Engine.IO's public event API), so every message passes here
first and python-socketio's own decoding runs unchanged for everything admitted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from socketio import packet
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics

log = logging.getLogger(__name__)

#: First character of the Socket.IO packets that carry binary attachments.
BINARY_TYPES = (str(packet.BINARY_EVENT), str(packet.BINARY_ACK))

#: Engine.IO MESSAGE packets whose Socket.IO packet is BINARY_EVENT / BINARY_ACK.
BINARY_FRAME_PREFIXES = tuple("4" + t for t in BINARY_TYPES)
#: WebSocket close code: policy violation (what the app is told; the client sees a drop).
POLICY_VIOLATION = 1008

EioHandler = Callable[..., Awaitable[Any]]


class RefuseBinaryFrames:
    """ASGI middleware: a WebSocket that sends a binary frame or a binary Socket.IO packet is
    dropped before the frame reaches Engine.IO; what the app sends afterwards is discarded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        closed = False

        async def guarded_receive() -> Message:
            nonlocal closed
            message = await receive()
            if closed or message["type"] != "websocket.receive":
                return message
            text = message.get("text")
            if message.get("bytes") is not None or (
                text is not None and text.startswith(BINARY_FRAME_PREFIXES)
            ):
                # No close handshake (the server would read on for its timeout, 10 s): the app
                # ends as if the client had left, and the server drops the TCP connection.
                closed = True
                metrics.PROTOCOL_REFUSALS.labels("binary").inc()
                log.info("websocket dropped: binary payload", extra={"reason": "binary"})
                return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}
            return message

        async def guarded_send(message: Message) -> None:
            if not closed:
                await send(message)

        await self.app(scope, guarded_receive, guarded_send)


class ProtocolGuard:
    def __init__(
        self, sio: socketio.AsyncServer, namespace: str, connect_timeout: float
    ) -> None:
        self.sio = sio
        self.namespace = namespace
        self.connect_timeout = connect_timeout
        eio = sio.eio
        self._on_connect: EioHandler = eio.handlers["connect"]
        self._on_message: EioHandler = eio.handlers["message"]
        self._pending: set[asyncio.Task[None]] = set()
        eio.on("connect", self.on_connect)
        eio.on("message", self.on_message)

    async def on_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        result = await self._on_connect(eio_sid, environ)
        task = asyncio.create_task(self._deadline(eio_sid), name="namespace-connect-deadline")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return result

    async def on_message(self, eio_sid: str, data: Any) -> None:
        if not isinstance(data, str) or data[:1] in BINARY_TYPES:
            await self._close(eio_sid, "binary")
            return
        await self._on_message(eio_sid, data)

    async def _deadline(self, eio_sid: str) -> None:
        await asyncio.sleep(self.connect_timeout)
        if eio_sid not in self.sio.eio.sockets:
            return
        if self.sio.manager.sid_from_eio_sid(eio_sid, self.namespace) is None:
            await self._close(eio_sid, "no_namespace")

    async def _close(self, eio_sid: str, reason: str) -> None:
        metrics.PROTOCOL_REFUSALS.labels(reason).inc()
        log.info("connection closed by the protocol guard", extra={"reason": reason})
        await self.sio.eio.disconnect(eio_sid)

    def cancel(self) -> None:
        for task in list(self._pending):
            task.cancel()
