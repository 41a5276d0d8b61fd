"""Engine.IO's WebSocket transport without a task per frame.

python-engineio (4.15) reads each frame in a task of its own under ``asyncio.wait_for``, runs
each message's handler in another task, and its writer waits for each batch of packets under
``wait_for`` too (a task again). Under a burst, every such hop waits for a whole turn of the
event loop, and a turn holds everything else that is ready: a refusal took seven or eight
turns to leave (120-190 ms for a burst of 500 sends on two cores), and every delta paid a task
per recipient. ``LeanSocket`` reads frames in one loop and hands each message to Socket.IO
inline (which still gives each event its own task). A packet sent while nothing is queued or
being written is written at once by the sender (a refusal's ack by the reader that decoded
the send, a delta by the emitter); otherwise it is queued for the writer, which takes packets
straight from the queue, so packets still leave in the order they were sent. The reading
deadline the library set per frame (``ping_interval + ping_timeout`` of silence closes the
connection) is one timer for the connection (``_Silence``).

A connection that starts on long-polling and upgrades keeps the library's handler.
The hooks are ``AsyncSocket._websocket_handler`` and the ``connect`` event that follows the
socket's creation in ``AsyncServer._handle_connect`` (the version is pinned:
services/chat_service/pyproject.toml; tests/test_socketio_hooks.py checks the shapes).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import engineio
from engineio import exceptions, packet
from engineio.async_socket import AsyncSocket


class _Silence:
    """Cancels the reading task once nothing has arrived for ``limit`` seconds while it waits.

    One timer per connection, re-armed only when it fires: a frame costs one clock read.
    """

    def __init__(self, limit: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.limit = limit
        self.heard = self.loop.time()
        self.waiting = self.expired = False
        self.handle = self.loop.call_at(self.heard + limit, self._check)

    def _check(self) -> None:
        now, due = self.loop.time(), self.heard + self.limit
        if self.waiting and now >= due and self.task is not None:
            self.expired = True
            self.task.cancel()
            return
        # still within the limit, or a message is being handled: look again when it could end
        self.handle = self.loop.call_at(max(due, now + 1.0), self._check)

    def cancel(self) -> None:
        self.handle.cancel()


class LeanSocket(AsyncSocket):  # type: ignore[misc]
    _ws: Any = None  # the WebSocket, once the lean loops run
    _writing: asyncio.Lock | None = None  # held while anything is written to it

    async def send(self, pkt: packet.Packet) -> None:
        lock = self._writing
        if lock is None or lock.locked() or not self.queue.empty():
            await super().send(pkt)  # queued, behind what is (or is being) written
            return
        if not await self.check_ping_timeout():
            return
        async with lock:
            with contextlib.suppress(Exception):  # a broken connection: the reader ends it
                await self._ws.send(pkt.encode())

    async def _websocket_handler(self, ws: Any) -> None:
        if self.connected:  # type: ignore[has-type]  # upgraded from polling: the library's
            await super()._websocket_handler(ws)
            return
        self.connected = self.upgraded = True
        self._ws, self._writing = ws, asyncio.Lock()
        writer = asyncio.ensure_future(self._write(ws, self._writing))
        server = self.server
        silence = _Silence(server.ping_interval + server.ping_timeout)
        try:
            while True:
                silence.waiting = True
                try:
                    data = await ws.wait()
                except BaseException:
                    break
                finally:
                    silence.waiting = False
                silence.heard = silence.loop.time()
                if data is None or len(data) > server.max_http_buffer_size:
                    break
                try:
                    await self.receive(packet.Packet(encoded_packet=data))
                except exceptions.UnknownPacketError:
                    pass
                except exceptions.SocketIsClosedError:
                    break
                except Exception:
                    server.logger.exception("Unknown receive error")
        finally:
            silence.cancel()
        await self.queue.put(None)  # the writer's end
        await writer
        # the WebSocket refers back to this socket (its handler): a cycle that would hold the
        # connection's buffers until the cyclic GC ran (40 MB under the binary flood test)
        self._ws = self._writing = None
        await self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)

    async def _write(self, ws: Any, lock: asyncio.Lock) -> None:
        """Send what is queued, a batch at a time, until the reader queues ``None``."""
        queue = self.queue
        while True:
            pkt = await queue.get()
            queue.task_done()
            batch = []
            while pkt is not None:
                batch.append(pkt)
                if queue.empty():
                    break
                pkt = queue.get_nowait()
                queue.task_done()
            try:
                async with lock:
                    for p in batch:
                        await ws.send(p.encode())
            except Exception:  # the connection is gone: the reader ends it
                break
            if pkt is None:
                break
        await ws.close()


class LeanEngine(engineio.AsyncServer):  # type: ignore[misc]
    """An Engine.IO server whose WebSocket connections are ``LeanSocket``s and whose messages
    are handled inline by the connection's reader (``async_handlers`` off)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_handlers = False

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "connect":  # the socket was created the line before: make it lean
            s = self.sockets.get(args[0])
            if type(s) is AsyncSocket:
                s.__class__ = LeanSocket
        return await super()._trigger_event(event, *args, **kwargs)
