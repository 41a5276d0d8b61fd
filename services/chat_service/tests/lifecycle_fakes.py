"""Stand-ins for the answer lifecycle's collaborators: a fake clock, history, LLM service and
shared (Redis) records, each in memory and driven step by step by the test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from chat_service.answer_run import AnswerPorts
from chat_service.live import LiveAnswer
from chat_service.llm_client import Chunk
from chat_service.registry import AnswerRegistry
from chat_service.shared import Orphan
from chatbot_common.errors import ChatbotError, ConflictError

Json = dict[str, Any]
USER = "u1"
CID = "c1"


def placeholder(mid: str = "m2", seq: int = 2) -> Json:
    return {"id": mid, "conversation_id": CID, "seq": seq, "role": "assistant", "content": "",
            "status": "streaming", "model": "fake", "next_index": 0}  # as history sends it


QUESTION: Json = {"id": "m1", "conversation_id": CID, "seq": 1, "role": "user",
                  "content": "hi", "status": "complete"}


class FakeClock:
    """Time moves only when the test (or a back-off sleep) moves it."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


class FakeLlm:
    """Each answer's stream yields what the test puts in ``feed``: a ``Chunk``, an exception
    (raised there) or None (the end)."""

    def __init__(self) -> None:
        self.feed: asyncio.Queue[Chunk | Exception | None] = asyncio.Queue()
        self.asked: list[list[dict[str, str]]] = []
        self.sampling: list[Json | None] = []
        self.paces: list[Callable[[], float] | None] = []  # the read pace each stream got

    async def stream(self, messages: list[dict[str, str]], model: str | None,
                     sampling: Json | None = None,
                     pace: Callable[[], float] | None = None) -> AsyncIterator[Chunk]:
        self.asked.append(messages)
        self.sampling.append(sampling)
        self.paces.append(pace)
        while True:
            item = await self.feed.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def say(self, *texts: str) -> None:
        for text in texts:
            self.feed.put_nowait(Chunk(text=text))

    def end(self) -> None:
        self.feed.put_nowait(None)


class FakeHistory:
    def __init__(self) -> None:
        self.messages: dict[str, Json] = {"m1": dict(QUESTION)}
        self.updates: list[Json] = []
        self.usage_records: list[Json] = []  # stored by finish_answer
        self.saved: list[str] = []
        self.saved_index: list[int] = []  # each checkpoint's next_index, beside its text
        self.update_errors: list[ChatbotError] = []  # raised by the next updates, in order
        self.create_error: ChatbotError | None = None

    async def update_message(self, user_id: str, cid: str, mid: str, body: Json) -> Json:
        self.updates.append(body)
        if self.update_errors:
            raise self.update_errors.pop(0)
        stored = self.messages.get(mid, placeholder(mid))
        if body.get("expect_status") and stored["status"] != body["expect_status"]:
            raise ConflictError("not streaming")
        stored.update(content=body["content"], status=body["status"])
        self.messages[mid] = stored
        return dict(stored)

    async def finish_answer(self, user_id: str, cid: str, mid: str, body: Json,
                            usage_record: Json | None) -> tuple[Json, Json]:
        message = await self.update_message(user_id, cid, mid, body)
        if usage_record is not None:
            self.usage_records.append(usage_record)
        return message, await self.get_conversation(user_id, cid)

    async def save_text(
        self, user_id: str, cid: str, mid: str, content: str, next_index: int
    ) -> None:
        self.saved.append(content)
        self.saved_index.append(next_index)

    async def create_message(self, user_id: str, cid: str, body: Json) -> tuple[Json, bool]:
        if self.create_error is not None:
            raise self.create_error
        message = {**placeholder(), **body}
        self.messages[message["id"]] = message
        return dict(message), True

    async def list_messages(self, user_id: str, cid: str, after_seq: int | None = None,
                            limit: int | None = None) -> list[Json]:
        found = sorted(self.messages.values(), key=lambda m: m["seq"])
        if after_seq is not None:
            found = [m for m in found if m["seq"] > after_seq]
        return [dict(m) for m in found[: limit or None]]

    async def get_conversation(self, user_id: str, cid: str) -> Json:
        return {"id": cid, "title": "t", "system_prompt": "be brief",
                "sampling": getattr(self, "sampling", None)}


class FakeShared:
    """The answers' records shared through Redis, in memory (one replica's view)."""

    enabled = True

    def __init__(self) -> None:
        self.up = True
        self.leases: dict[str, str] = {}  # cid -> owner
        self.records: dict[str, tuple[str, str]] = {}  # cid -> (message id, user)
        self.deltas: dict[str, list[str]] = {}
        self.released: list[str] = []
        self.handed_over: list[tuple[str, list[str]]] = []
        self.taken_by_other: set[str] = set()  # message ids another replica appends to
        self.orphaned: dict[str, LiveAnswer] = {}  # what take_over finds
        self.resync_refused: set[str] = set()
        self.stop_requests: list[tuple[str, str]] = []
        self.unknown = False  # Redis cannot tell (orphan checks)

    async def claim(self, cid: str, user_id: str) -> bool:
        if cid in self.leases:
            return False
        self.leases[cid] = "me"
        self.records[cid] = ("", user_id)
        return True

    async def attach(self, cid: str, mid: str) -> None:
        self.records[cid] = (mid, self.records.get(cid, ("", USER))[1])

    async def append(self, mid: str, text: str, index: int, parts: list[str],
                     publish: tuple[str, str] | None = None) -> bool:
        if mid in self.taken_by_other:
            return False
        self.deltas[mid] = [*parts, text]
        return True

    async def hand_over(self, cid: str, mid: str, parts: list[str]) -> bool:
        if self.leases.get(cid) != "me":
            return False
        del self.leases[cid]
        self.handed_over.append((cid, list(parts)))
        return True

    async def release(self, cid: str, mid: str | None) -> None:
        self.leases.pop(cid, None)
        self.records.pop(cid, None)
        self.released.append(cid)

    async def busy(self, cid: str) -> bool:
        return cid in self.leases

    async def snapshot(self, cid: str) -> LiveAnswer | None:
        return None

    async def holds(self, cid: str, mid: str) -> bool:
        return self.records.get(cid, ("",))[0] == mid

    async def take_over(self, cid: str) -> LiveAnswer | None:
        snap = self.orphaned.pop(cid, None)
        if snap is not None:
            self.leases[cid] = "me"
        return snap

    async def drop_lease(self, cid: str) -> None:
        self.leases.pop(cid, None)

    async def stop_remote(self, cid: str, status: str, wait_seconds: float) -> bool:
        if cid not in self.leases:
            return False
        self.stop_requests.append((cid, status))
        return True

    async def renew(self, cid: str) -> bool:
        return self.leases.get(cid) == "me"

    async def resync(self, cid: str, mid: str | None, user_id: str, parts: list[str]) -> bool:
        if cid in self.resync_refused:
            return False
        self.leases[cid] = "me"
        return True

    async def orphans(self) -> list[str]:
        return list(self.orphaned)

    async def orphan(self, cid: str, mid: str, *, take: bool) -> Orphan:
        if self.unknown:
            return Orphan("unknown")
        snap = await self.take_over(cid) if take else None
        if snap is not None:
            return Orphan("taken", snap)
        return Orphan("owned" if await self.holds(cid, mid) else "free")


HARNESSES: list[Harness] = []  # the test module's fixture cancels what each test left running


class Harness:
    """A registry wired to the fakes; ``emitted`` holds every emit as ``(event, data)``."""

    def __init__(self, *, takeover_mode: str = "continue", checkpoint_interval: float = 0.0,
                 shared: Any = None, checkpoint_max: float = 0.0, load: float = 1.0,
                 interval: float = 0.0) -> None:
        self.load = load  # the load factor the answers see (pace.load_factor)
        self.interval = interval  # the coalescing interval the answers see
        self.clock = FakeClock()
        self.llm = FakeLlm()
        self.history = FakeHistory()
        self.shared = shared or FakeShared()
        self.emitted: list[tuple[str, Json]] = []
        self.usage: list[tuple[str, dict[str, int]]] = []
        self.finished: list[str] = []

        async def emit(event: str, data: Json, room: str) -> None:
            self.emitted.append((event, data))

        async def on_usage(user_id: str, usage: dict[str, int]) -> None:
            self.usage.append((user_id, usage))

        async def on_finished(answer: Any, status: str) -> None:
            self.finished.append(status)

        ports = AnswerPorts(
            history=self.history,  # type: ignore[arg-type]
            llm=self.llm,  # type: ignore[arg-type]
            emit=emit,
            shared=self.shared,
            clock=self.clock,
            interval=lambda: self.interval,
            checkpoint_interval=checkpoint_interval,
            checkpoint_max=checkpoint_max,
            load=lambda: self.load,
            on_usage=on_usage,
            on_finished=on_finished,
        )
        self.registry = AnswerRegistry(ports, context_messages=10, takeover_mode=takeover_mode)
        HARNESSES.append(self)

    async def cancel_running(self) -> None:
        for answer in self.registry.local():
            if answer.task is not None and not answer.task.done():
                answer.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await answer.task

    def events(self, name: str) -> list[Json]:
        return [data for event, data in self.emitted if event == name]

    def deltas(self) -> list[tuple[int, str]]:
        return [(d["index"], d["delta"]) for d in self.events("message.delta")]

    async def start(self, mid: str = "m2") -> Any:
        self.history.messages[mid] = placeholder(mid)
        return await self.registry.start(
            USER, {"id": CID, "system_prompt": "be brief"}, "fake",
            prepared=([dict(QUESTION)], placeholder(mid)),
        )


async def until(cond: Callable[[], bool], rounds: int = 2000) -> None:
    """Let the event loop run until ``cond()`` holds (no clock involved: every fake answers
    at once, so a few rounds suffice; the bound only turns a hang into a failure)."""
    for _ in range(rounds):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def ended(answer: Any, seconds: float = 10) -> None:
    """Wait until ``answer`` has ended here (a hang is a failure, not a 300 s timeout)."""
    await asyncio.wait_for(answer.finished.wait(), seconds)
