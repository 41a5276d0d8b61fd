"""Engine.IO-level rules, before any Socket.IO event handler runs.

- **No binary.** The contract has no binary payloads. A binary Engine.IO message, or a
  Socket.IO ``BINARY_EVENT``/``BINARY_ACK`` packet (which announces attachments the server would
  buffer until they all arrive, up to 9,999,999,999 of them), ends the session at once.
- **Sign in or leave.** A session that has not joined the namespace (connect with a valid
  token) ``NAMESPACE_CONNECT_TIMEOUT_SECONDS`` after it opened is ended.

Ending a session is final for HTTP long-polling (its next request is refused); a WebSocket
is also dropped by ``websocket_guard``, which sees the frames before Engine.IO does.

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

from . import metrics

log = logging.getLogger(__name__)

#: First character of the Socket.IO packets that carry binary attachments.
BINARY_TYPES = (str(packet.BINARY_EVENT), str(packet.BINARY_ACK))

EioHandler = Callable[..., Awaitable[Any]]


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
