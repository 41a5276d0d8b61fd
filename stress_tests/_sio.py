"""A minimal Socket.IO v5 / Engine.IO v4 client over one websocket, for load generation.

python-socketio's client is complete but heavy (its own tasks, an aiohttp session per client);
one load process must hold thousands of connections and time events to the millisecond, so
this speaks the few packets the contract needs: connect with auth, events with acks, server
events, and ping/pong. Timestamps are ``time.perf_counter()`` at packet receipt.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Handler = Callable[[str, Any, float], None]


class SioError(Exception):
    """A refused ack; ``code`` and ``retry_after`` as the server gave them."""

    def __init__(self, message: str, ack: Any = None) -> None:
        super().__init__(message)
        error = ack.get("error") if isinstance(ack, dict) else None
        self.code: str | None = error.get("code") if isinstance(error, dict) else None
        retry = error.get("retry_after") if isinstance(error, dict) else None
        self.retry_after: float | None = float(retry) if isinstance(retry, int | float) else None


class RawSio:
    """One Socket.IO connection. ``on_event(name, data, t)`` sees every server event."""

    def __init__(
        self, url: str, token: str, path: str = "socket.io", compression: str | None = None
    ) -> None:
        base = url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self.ws_url = f"{base}/{path.strip('/')}/?EIO=4&transport=websocket"
        self.token = token
        self.compression = compression  # "deflate": permessage-deflate, as browsers offer
        self.ws: ClientConnection | None = None
        self.sid: str | None = None
        self.on_event: Handler | None = None
        self.events: dict[str, list[tuple[float, Any]]] = defaultdict(list)
        self.record = True
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def connect(self, timeout: float = 10.0) -> RawSio:
        self.ws = await asyncio.wait_for(
            connect(self.ws_url, max_size=2**22, compression=self.compression, ping_interval=None,
                    open_timeout=timeout, close_timeout=2),
            timeout,
        )
        opened = await asyncio.wait_for(self.ws.recv(), timeout)
        if not isinstance(opened, str) or not opened.startswith("0"):
            raise SioError(f"unexpected engine.io open packet {opened!r}")
        await self.ws.send("40" + json.dumps({"token": self.token}))
        while True:
            pkt = await asyncio.wait_for(self.ws.recv(), timeout)
            assert isinstance(pkt, str)
            if pkt == "2":
                await self.ws.send("3")
            elif pkt.startswith("40"):
                self.sid = json.loads(pkt[2:] or "{}").get("sid")
                break
            elif pkt.startswith("44"):
                raise SioError(f"connect refused: {pkt[2:]}")
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for pkt in self.ws:
                t = time.perf_counter()
                if not isinstance(pkt, str):
                    continue
                if pkt == "2":
                    await self.ws.send("3")
                elif pkt.startswith("42"):
                    self._on_event(pkt[2:], t)
                elif pkt.startswith("43"):
                    self._on_ack(pkt[2:])
                elif pkt.startswith("41"):
                    break
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for fut in self._acks.values():
                if not fut.done():
                    fut.set_exception(SioError("connection closed"))
            self._acks.clear()

    def _on_event(self, body: str, t: float) -> None:
        name, *args = json.loads(body[body.index("["):])
        data = args[0] if args else None
        if self.record:
            self.events[name].append((t, data))
        if self.on_event is not None:
            self.on_event(name, data, t)

    def _on_ack(self, body: str) -> None:
        i = body.index("[")
        fut = self._acks.pop(int(body[:i]), None)
        if fut is not None and not fut.done():
            args = json.loads(body[i:])
            fut.set_result(args[0] if args else None)

    async def call(self, event: str, payload: Any, timeout: float = 30.0) -> Any:
        """Emit ``event`` and wait for its ack (the ack's first argument)."""
        if self.ws is None or self.closed.is_set():
            raise SioError("not connected")
        self._next_id += 1
        ack_id = self._next_id
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = fut
        await self.ws.send(f"42{ack_id}" + json.dumps([event, payload], separators=(",", ":")))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._acks.pop(ack_id, None)

    async def ok(self, event: str, payload: Any, timeout: float = 30.0) -> dict[str, Any]:
        ack = await self.call(event, payload, timeout)
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            raise SioError(f"{event} failed: {ack!r}", ack)
        return ack

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.send("41")
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 3)


async def stream_answer(
    sio: RawSio, conversation_id: str, content: str, client_message_id: str,
    timeout: float = 60.0, on_ack: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Send a message and wait for its message.done; return timings and the assembled text.
    ``on_ack`` is called once the send's ack (admitted or refused) has come.

    ``ttft`` is seconds from the send to the first message.delta; ``gaps`` the seconds
    between consecutive deltas; ``done`` the final stored message. A refused send (its ack's
    ``error``) or a ``message.error`` ends it with ``error`` and ``error_after`` (seconds).
    """
    done_evt = asyncio.Event()
    result: dict[str, Any] = {"deltas": [], "done": None, "error": None}

    def on_event(name: str, data: Any, t: float) -> None:
        if not isinstance(data, dict) or data.get("conversation_id", (
                data.get("message") or {}).get("conversation_id")) != conversation_id:
            return
        if name == "message.delta":
            result["deltas"].append((t, data["index"], data["delta"]))
        elif name == "message.done" and data["message"]["role"] == "assistant":
            result["done"] = data["message"]
            result["t_done"] = t
            done_evt.set()
        elif name == "message.error":
            result["error"] = data.get("error")
            result["t_error"] = t
            done_evt.set()

    prev = sio.on_event
    sio.on_event = on_event
    try:
        t0 = time.perf_counter()
        ack = await sio.call("message.send", {"conversation_id": conversation_id,
                                              "client_message_id": client_message_id,
                                              "content": content}, timeout)
        result["t_ack"] = time.perf_counter() - t0
        if on_ack is not None:
            on_ack()
        if isinstance(ack, dict) and ack.get("ok") is True:
            result["user_message"] = ack["message"]
            await asyncio.wait_for(done_evt.wait(), timeout)
        elif isinstance(ack, dict) and isinstance(ack.get("error"), dict):
            # refused (e.g. busy: unavailable with retry_after, nothing stored)
            result["error"], result["t_error"] = ack["error"], t0 + result["t_ack"]
        else:
            raise SioError(f"message.send failed: {ack!r}", ack)
    finally:
        sio.on_event = prev
    deltas = result["deltas"]
    result["ttft"] = deltas[0][0] - t0 if deltas else None
    result["gaps"] = [b[0] - a[0] for a, b in itertools.pairwise(deltas)]
    result["text"] = "".join(d[2] for d in deltas)
    result["indexes"] = [d[1] for d in deltas]
    result["total"] = result.get("t_done", time.perf_counter()) - t0
    result["error_after"] = result["t_error"] - t0 if "t_error" in result else None
    return result
