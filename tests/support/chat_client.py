"""A python-socketio test client for the chat service's contract events."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import socketio

SERVER_EVENTS = (
    "message.created",
    "message.delta",
    "message.done",
    "message.error",
    "conversation.updated",
)


@dataclass
class Answer:
    message_id: str
    deltas: list[dict[str, Any]] = field(default_factory=list)
    done: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "".join(d["delta"] for d in self.deltas)

    @property
    def indexes(self) -> list[int]:
        return [d["index"] for d in self.deltas]


class ChatClient:
    """Connects with a token, calls events with acks, records every server event."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        origin: str | None = None,
        transports: list[str] | None = None,
        socketio_path: str = "socket.io",
    ) -> None:
        self.url = url
        self.token = token
        self.origin = origin
        self.transports = transports or ["websocket"]
        self.socketio_path = socketio_path
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._changed = asyncio.Event()
        for name in SERVER_EVENTS:
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        async def record(data: dict[str, Any]) -> None:
            self.events[name].append(data)
            self._changed.set()

        return record

    async def connect(self) -> ChatClient:
        headers = {"Origin": self.origin} if self.origin else {}
        auth = {"token": self.token} if self.token is not None else None
        await self.sio.connect(
            self.url,
            auth=auth,
            transports=self.transports,
            headers=headers,
            socketio_path=self.socketio_path,
            wait_timeout=10,
        )
        return self

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()

    async def call(self, event: str, payload: Any = None, timeout: float = 15) -> dict[str, Any]:
        ack = await self.sio.call(event, payload if payload is not None else {}, timeout=timeout)
        assert isinstance(ack, dict), f"{event} ack is not an object: {ack!r}"
        return ack

    async def ok(self, event: str, payload: Any = None, timeout: float = 15) -> dict[str, Any]:
        ack = await self.call(event, payload, timeout)
        assert ack.get("ok") is True, f"{event} failed: {ack}"
        return ack

    async def wait_for(self, predicate: Any, timeout: float = 20) -> None:
        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)

    def answer(self, conversation_id: str, message_id: str | None = None) -> Answer | None:
        """The answer as assembled from events (the newest one when no id is given)."""
        dones = [
            d["message"]
            for d in self.events["message.done"]
            if d["message"]["conversation_id"] == conversation_id
        ]
        deltas = [
            d for d in self.events["message.delta"] if d["conversation_id"] == conversation_id
        ]
        if message_id is None:
            ids = [d["message_id"] for d in deltas] + [m["id"] for m in dones]
            if not ids:
                return None
            message_id = ids[-1]
        ans = Answer(message_id, [d for d in deltas if d["message_id"] == message_id])
        ans.done = next((m for m in dones if m["id"] == message_id), None)
        return ans

    async def wait_done(
        self, conversation_id: str, count: int = 1, timeout: float = 30
    ) -> list[dict[str, Any]]:
        """Wait for ``count`` message.done events of the conversation; return them."""

        def dones() -> list[dict[str, Any]]:
            return [
                d["message"]
                for d in self.events["message.done"]
                if d["message"]["conversation_id"] == conversation_id
            ]

        await self.wait_for(lambda: len(dones()) >= count, timeout)
        return dones()
