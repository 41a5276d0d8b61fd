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
    """Connects with a token, calls events with acks, records every server event.

    Like a well-behaved client, ``call`` waits out a ``rate_limited`` ack for its ``retry_after``
    and tries again (at most ``patience`` times) when the wait is short (``max_wait``); a longer
    one (a per-day budget spent) is returned as it is, as a user would be told to come back
    later. A test of the limits themselves passes ``honour_retry_after=False`` to see every
    refusal.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        origin: str | None = None,
        transports: list[str] | None = None,
        socketio_path: str = "socket.io",
        honour_retry_after: bool = True,
        patience: int = 30,
        max_wait: float = 30.0,
    ) -> None:
        self.url = url
        self.token = token
        self.origin = origin
        self.transports = transports or ["websocket"]
        self.socketio_path = socketio_path
        self.honour_retry_after = honour_retry_after
        self.patience = patience
        self.max_wait = max_wait
        self.waited_for_limits = 0.0  # seconds spent waiting out rate_limited acks
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

    async def call(self, event: str, payload: Any = None, timeout: float = 30) -> dict[str, Any]:
        for _ in range(self.patience if self.honour_retry_after else 1):
            ack = await self.sio.call(
                event, payload if payload is not None else {}, timeout=timeout
            )
            assert isinstance(ack, dict), f"{event} ack is not an object: {ack!r}"
            wait = _retry_after(ack)
            if not self.honour_retry_after or wait is None or wait > self.max_wait:
                return ack
            self.waited_for_limits += wait
            await asyncio.sleep(wait)
        return ack

    async def ok(self, event: str, payload: Any = None, timeout: float = 30) -> dict[str, Any]:
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


def _retry_after(ack: dict[str, Any]) -> float | None:
    """The seconds a ``rate_limited`` ack asks to wait; None for any other ack."""
    error = ack.get("error") if ack.get("ok") is False else None
    if not isinstance(error, dict) or error.get("code") != "rate_limited":
        return None
    wait = error.get("retry_after")
    return float(wait) if isinstance(wait, (int, float)) and wait > 0 else 1.0
