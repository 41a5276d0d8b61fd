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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        dropped = joined = False
        waiting: asyncio.Timeout | None = None  # the receive running under the deadline

        def drop(reason: str) -> Message:
            nonlocal dropped
            dropped = True
            metrics.PROTOCOL_REFUSALS.labels(reason).inc()
            log.info("websocket dropped", extra={"reason": reason})
            return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}

        async def guarded_receive() -> Message:
            nonlocal joined, deadline, waiting
            if dropped:
                return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}
            try:
                async with asyncio.timeout_at(None if joined else deadline) as waiting:
                    message = await receive()
            except TimeoutError:
                return drop("no_namespace")
            finally:
                waiting = None
            if message["type"] != "websocket.receive":
                return message
            text = message.get("text")
            if message.get("bytes") is not None or (
                text is not None and text.startswith(BINARY_PACKETS)
            ):
                return drop("binary")
            if text is not None and text.startswith(LEFT) and joined:
                joined, deadline = False, loop.time() + self.connect_timeout
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal joined
            if dropped:
                return
            if not joined and message["type"] == "websocket.send":
                text = message.get("text")
                if text is not None and text.startswith(CONNECTED):
                    joined = True
                    if waiting is not None:
                        waiting.reschedule(None)  # the receive in flight has no deadline now
            await send(message)

        await self.app(scope, guarded_receive, guarded_send)
