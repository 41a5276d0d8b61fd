"""A conversation that survives its replica dying: reconnect, conversation.get, continue.

The client keeps what the contract promises it can rebuild: the acked user message, the
answer's deltas by ``index``; after a reconnect it takes ``content`` and ``next_index`` of the
``streaming`` message from ``conversation.get`` and appends only live deltas from ``next_index``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stress_tests._sio import RawSio, SioError

#: refusals that say "not now": the same request is sent again after ``retry_after``
RETRY_LATER = ("unavailable", "rate_limited")


@dataclass
class ChaosConversation:
    token: str
    pick_url: Callable[[int], str]  # attempt number → replica URL to (re)connect to
    sio: RawSio | None = None
    conversation_id: str = ""
    acked: list[dict[str, Any]] = field(default_factory=list)  # acked user messages
    prefix: str = ""  # answer text taken from conversation.get after a reconnect
    deltas: dict[int, str] = field(default_factory=dict)
    base_index: int = 0
    answer_id: str | None = None
    done: dict[str, Any] | None = None
    errors: list[Any] = field(default_factory=list)
    reconnects: list[float] = field(default_factory=list)
    replica: str = ""
    _done_evt: asyncio.Event = field(default_factory=asyncio.Event)
    _attempt: int = 0

    def _on_event(self, name: str, data: Any, t: float) -> None:
        if not isinstance(data, dict):
            return
        if name == "message.delta" and data.get("conversation_id") == self.conversation_id:
            self.answer_id = self.answer_id or data["message_id"]
            prev = self.deltas.setdefault(data["index"], data["delta"])
            if prev != data["delta"]:
                self.errors.append(f"index {data['index']} delivered twice, differently")
        elif name == "message.done":
            msg = data["message"]
            if msg["conversation_id"] == self.conversation_id and msg["role"] == "assistant":
                self.done = msg
                self._done_evt.set()
        elif name == "message.error" and data.get("conversation_id") == self.conversation_id:
            self.errors.append(data.get("error"))

    async def _connect(self) -> None:
        url = self.pick_url(self._attempt)
        self._attempt += 1
        self.replica = url
        self.sio = RawSio(url, self.token)
        self.sio.record = False
        self.sio.on_event = self._on_event
        await self.sio.connect(timeout=5)

    async def start(self, deadline_s: float = 120.0) -> None:
        """Connect and create the conversation, trying again (bounded by ``deadline_s``) while
        the system is still coming back from the previous fault: a handshake that times out, a
        create refused ``unavailable``. A create whose ack was lost leaves an empty extra
        conversation, which no check reads."""
        give_up = time.monotonic() + deadline_s
        while True:
            try:
                await self._connect()
                assert self.sio is not None
                conv = await self.sio.ok("conversation.create", {"title": "chaos"}, timeout=10)
                self.conversation_id = conv["conversation"]["id"]
                return
            except Exception as exc:
                refused = isinstance(exc, SioError) and exc.code not in (None, *RETRY_LATER)
                if refused or time.monotonic() > give_up:
                    raise
                if self.sio is not None:
                    with contextlib.suppress(Exception):
                        await self.sio.close()
                await asyncio.sleep(1.0)

    async def send(self, content: str, deadline_s: float = 180.0) -> None:
        """Send (retrying with the same client_message_id, so at most one is stored) until
        acked: across reconnects, and after ``unavailable`` (a store still coming back after
        a kill: refused, nothing stored) once its ``retry_after`` or a short pause has passed.
        Bounded by ``deadline_s``."""
        cmid = uuid.uuid4().hex
        self.prefix, self.deltas, self.base_index = "", {}, 0
        self.answer_id, self.done = None, None
        self._done_evt.clear()
        give_up = time.monotonic() + deadline_s
        failures = 0
        while True:
            try:
                assert self.sio is not None
                ack = await self.sio.ok("message.send", {
                    "conversation_id": self.conversation_id, "client_message_id": cmid,
                    "content": content}, timeout=10)
                self.acked.append({**ack["message"], "client_message_id": cmid})
                return
            except Exception as exc:
                refusal = exc if isinstance(exc, SioError) and exc.code is not None else None
                if refusal is not None and refusal.code in RETRY_LATER \
                        and time.monotonic() < give_up:
                    await asyncio.sleep(min(refusal.retry_after or 1.0, 5.0))
                    continue
                if refusal is not None:  # refused for good (invalid, not_found, ...)
                    raise
                failures += 1  # not connected, or no ack: reconnect (to the next replica)
                if failures >= 5 or time.monotonic() > give_up:
                    raise RuntimeError("message.send never acked") from None
                await self.reconnect(adopt=False)

    async def reconnect(self, deadline_s: float = 15.0, adopt: bool = True) -> None:
        """Reconnect (to the next replica), resubscribe and rebuild the answer so far.

        ``adopt=False`` (a send not acked yet): only resubscribe. The last answer stored is
        then the previous turn's, and taking it as this turn's would put its text in front of
        this answer's deltas."""
        t0 = time.monotonic()
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.close()
        while True:
            try:
                await self._connect()
                assert self.sio is not None
                got = await self.sio.ok("conversation.get",
                                        {"conversation_id": self.conversation_id}, timeout=5)
                break
            except Exception:
                if time.monotonic() - t0 > deadline_s:
                    raise
                await asyncio.sleep(0.1)
        self.reconnects.append(time.monotonic() - t0)
        if not adopt:
            return
        answers = [m for m in got["messages"] if m["role"] == "assistant"]
        last = answers[-1] if answers else None
        if last is None or (self.acked and last["seq"] < self.acked[-1]["seq"]):
            return  # the answer has not been created yet: it will stream from index 0
        self.answer_id = last["id"]
        if last["status"] == "streaming":
            self.prefix, self.base_index = last["content"], int(last["next_index"])
            self.deltas = {i: d for i, d in self.deltas.items() if i >= self.base_index}
        else:  # it ended while we were away: the stored text is the answer
            self.prefix, self.deltas, self.base_index = last["content"], {}, 0
            self.done = last
            self._done_evt.set()

    @property
    def assembled(self) -> str:
        text, i = self.prefix, self.base_index
        while i in self.deltas:
            text += self.deltas[i]
            i += 1
        return text

    @property
    def gaps(self) -> bool:
        return bool(self.deltas) and max(self.deltas) + 1 - self.base_index != len(self.deltas)

    async def wait_answer(self, timeout: float) -> None:
        """Wait for message.done, reconnecting whenever the connection drops."""
        deadline = time.monotonic() + timeout
        while not self._done_evt.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message.done")
            assert self.sio is not None
            closed = asyncio.create_task(self.sio.closed.wait())
            done = asyncio.create_task(self._done_evt.wait())
            await asyncio.wait({closed, done}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            done.cancel()
            if not self._done_evt.is_set() and self.sio.closed.is_set():
                await self.reconnect()

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.close()
