"""The WebSocket half of the protocol rules (``protocol_guard`` has the Engine.IO half).

Engine.IO's own disconnect only *asks* a WebSocket client to go (a CLOSE packet) and keeps
reading whatever the client sends meanwhile; a hostile client never goes. So for WebSockets
the rules are enforced here, at the ASGI layer, where the connection can be dropped: the app
is told the client left (``websocket.disconnect``) and gets no further frames, anything it
still sends is discarded, and the server closes the TCP connection (no close handshake, which
would read on for its 10 s timeout).

- **No binary**: a binary frame, or a text frame holding a Socket.IO ``BINARY_EVENT`` /
  ``BINARY_ACK`` packet (``45…``, ``46…``), drops the connection before Engine.IO sees it.
- **Sign in or leave**: until the server has answered a namespace connect with success
  (``40…``), the client has ``NAMESPACE_CONNECT_TIMEOUT_SECONDS`` (again after it leaves the
  namespace with ``41``); then the connection is dropped.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics

log = logging.getLogger(__name__)

#: Engine.IO MESSAGE (4) + Socket.IO BINARY_EVENT (5) / BINARY_ACK (6).
BINARY_PACKETS = ("45", "46")
#: Engine.IO MESSAGE (4) + Socket.IO CONNECT (0) / DISCONNECT (1) of the default namespace.
CONNECTED, LEFT = "40", "41"
#: What the app is told (the client itself sees the connection drop).
POLICY_VIOLATION = 1008


class WebSocketGuard:
    def __init__(self, app: ASGIApp, connect_timeout: float) -> None:
        self.app = app
        self.connect_timeout = connect_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        guarded = _GuardedSocket(receive, send, self.connect_timeout)
        await self.app(scope, guarded.receive, guarded.send)


_DISCONNECT: Message = {"type": "websocket.disconnect", "code": POLICY_VIOLATION}


class _GuardedSocket:
    """One WebSocket connection under the rules (see the module docstring)."""

    def __init__(self, receive: Receive, send: Send, connect_timeout: float) -> None:
        self._receive = receive
        self._send = send
        self.connect_timeout = connect_timeout
        self.loop = asyncio.get_running_loop()
        self.deadline = self.loop.time() + connect_timeout
        self.dropped = self.joined = False
        self.waiting: asyncio.Timeout | None = None  # the receive running under the deadline

    def drop(self, reason: str) -> Message:
        self.dropped = True
        metrics.PROTOCOL_REFUSALS.labels(reason).inc()
        log.info("websocket dropped", extra={"reason": reason})
        return dict(_DISCONNECT)

    async def receive(self) -> Message:
        if self.dropped:
            return dict(_DISCONNECT)
        if self.joined:  # no deadline: no timeout to arm per frame
            message = await self._receive()
        else:
            try:
                async with asyncio.timeout_at(self.deadline) as waiting:
                    self.waiting = waiting
                    message = await self._receive()
            except TimeoutError:
                return self.drop("no_namespace")
            finally:
                self.waiting = None
        if message["type"] != "websocket.receive":
            return message
        text = message.get("text")
        if message.get("bytes") is not None or (
            text is not None and text.startswith(BINARY_PACKETS)
        ):
            return self.drop("binary")
        if text is not None and text.startswith(LEFT) and self.joined:
            self.joined, self.deadline = False, self.loop.time() + self.connect_timeout
        return message

    async def send(self, message: Message) -> None:
        if self.dropped:
            return
        if not self.joined and message["type"] == "websocket.send":
            text = message.get("text")
            if text is not None and text.startswith(CONNECTED):
                self.joined = True
                if self.waiting is not None:
                    self.waiting.reschedule(None)  # the receive in flight has no deadline now
        await self._send(message)
