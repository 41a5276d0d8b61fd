"""One answer's state (``Answer``) and the small facts every step of its lifecycle shares."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chatbot_common.contract import AnswerEnd, MessageStatus
from chatbot_common.errors import ChatbotError

from .history_client import Json

Emit = Callable[[str, Json, str], Awaitable[None]]


def room_of(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def as_sent(message: Json) -> Json:
    """A message as a client gets it: ``next_index`` on a ``streaming`` one and only there.

    History sends a ``streaming`` message with the index its stored checkpoint reaches. One
    stored without it (a checkpoint written before the index was kept) reaches an unknown
    delta: it goes out as the one pair certainly true, no text and index 0 (its stored text
    stays in history; the live deltas, a re-read or ``message.done`` bring the rest)."""
    if message.get("status") != MessageStatus.STREAMING:
        if "next_index" not in message:
            return message
        return {k: v for k, v in message.items() if k != "next_index"}
    if isinstance(message.get("next_index"), int):
        return message
    return {**message, "content": "", "next_index": 0}


def context_of(system_prompt: str | None, recent: list[Json]) -> list[Json]:
    """The messages sent to the LLM service: the system prompt and the finished messages
    (a message naming files keeps them: ``attachments.expand_files`` reads them in)."""
    context: list[Json] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for m in recent:
        if (m["content"] or m.get("files")) and m["status"] != MessageStatus.STREAMING:
            item: Json = {"role": m["role"], "content": m["content"]}
            if m.get("files"):
                item["files"] = m["files"]
            context.append(item)
    return context


@dataclass
class Answer:
    """One assistant answer being generated; ``parts`` are exactly the deltas emitted."""

    user_id: str
    conversation_id: str
    model: str | None
    sampling: Json | None = None  # temperature, top_p, max_tokens sent with the request
    message: Json | None = None
    parts: list[str] = field(default_factory=list)
    usage: dict[str, int] | None = None
    error: ChatbotError | None = None
    end_status: AnswerEnd | None = None  # how it ends here (internal; stored via ``.status``)
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    resumed_from: int | None = None  # taken over from another replica at this delta index
    checkpoint: asyncio.Task[None] | None = None
    checkpointed_at: float | None = None
    ttft: float | None = None  # seconds from the request to the first delta (usage records)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def next_index(self) -> int:
        return len(self.parts)

    @property
    def message_id(self) -> str | None:
        return self.message["id"] if self.message is not None else None

    @property
    def running(self) -> bool:
        """Not handed over or let go (it may still be finishing)."""
        return self.end_status not in (AnswerEnd.HANDOVER, AnswerEnd.ABANDONED)

    def request_stop(self, status: AnswerEnd) -> None:
        if self.end_status is None:
            self.end_status = status
        self.stop_event.set()

    def abandon(self) -> None:
        """Another replica owns this answer now: end it here without a word."""
        self.end_status = AnswerEnd.ABANDONED
        self.stop_event.set()
