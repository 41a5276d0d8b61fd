"""Streaming one answer: LLM chunks coalesced into contiguous deltas, shared through Redis,
emitted to the conversation's room and checkpointed to history now and then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chatbot_common.errors import ChatbotError, UpstreamError
from redis.exceptions import RedisError

from . import metrics
from .attachments import expand_files
from .coalescer import Coalescer
from .history_client import HistoryClient, Json
from .live import RedisLive
from .llm_client import Chunk, LlmClient
from .pace import LoopLag, delta_interval
from .redis_gate import RedisDown

log = logging.getLogger(__name__)

Emit = Callable[[str, Json, str], Awaitable[None]]


def room_of(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


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
    end_status: str | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    sent: int = 0  # index of the next delta
    resumed_from: int | None = None  # taken over from a dead replica at this delta index
    checkpoint: asyncio.Task[None] | None = None
    checkpointed_at: float = 0.0
    ttft: float | None = None  # seconds from the request to the first delta (usage records)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def next_index(self) -> int:
        return self.sent

    def request_stop(self, status: str) -> None:
        if self.end_status is None:
            self.end_status = status
        self.stop_event.set()

    def abandon(self) -> None:
        """Another replica owns this answer now: end it here without a word."""
        self.end_status = "abandoned"
        self.stop_event.set()


class AnswerStreamer:
    """The streaming half of the answer manager (``answers.AnswerManager``)."""

    def __init__(
        self,
        history: HistoryClient,
        llm: LlmClient,
        emit: Emit,
        live: RedisLive | None,
        delta_interval: float,
        checkpoint_interval: float,
        delta_interval_max: float = 0.0,
        loop_lag: LoopLag | None = None,
    ) -> None:
        self.live = live  # shared state of answers across replicas (REDIS_URL)
        self.history = history
        self.llm = llm
        self.emit = emit
        self.delta_interval = delta_interval
        self.delta_interval_max = delta_interval_max
        self.loop_lag = loop_lag or LoopLag()  # not started: lag 0, the interval stays fixed
        self.checkpoint_interval = checkpoint_interval

    def interval(self) -> float:
        """The coalescing interval now: grows while the event loop lags."""
        return delta_interval(self.delta_interval, self.delta_interval_max, self.loop_lag.lag)

    async def _shared(self, op: Awaitable[Any] | None) -> Any:
        """Best effort on Redis: a failure is logged, the answer goes on on this replica.
        Bounded: ``op`` waits at most the gate's timeout, and not at all while Redis is down
        (the gate has logged the outage once; the records are resynced when it is back)."""
        if op is None:
            return None
        try:
            return await op
        except RedisDown as exc:
            log.debug("redis down", extra={"error": str(exc)})
            return None
        except RedisError as exc:
            log.warning("redis unavailable", extra={"error": str(exc)})
            return None

    async def _chunks(self, answer: Answer, context: list[Json]) -> AsyncIterator[Chunk]:
        """The answer's chunks; the files its context names are read in first."""
        messages = await expand_files(self.history, answer.user_id, context)
        async for chunk in self.llm.stream(messages, answer.model, answer.sampling):
            yield chunk

    async def stream(self, answer: Answer, context: list[Json], started: float) -> None:
        coalescer = Coalescer(self.interval())
        chunks = self._chunks(answer, context)
        stop_wait = asyncio.ensure_future(answer.stop_event.wait())
        next_chunk: asyncio.Future[Any] | None = None
        last_chunk_at: float | None = None
        try:
            while True:
                if next_chunk is None:
                    next_chunk = asyncio.ensure_future(anext(chunks))
                coalescer.interval = self.interval()
                done, _ = await asyncio.wait(
                    {next_chunk, stop_wait},
                    timeout=coalescer.wait_time(time.monotonic()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stop_wait in done:
                    break
                now = time.monotonic()
                if next_chunk in done:
                    try:
                        chunk = next_chunk.result()
                    except StopAsyncIteration:
                        break
                    next_chunk = None
                    if last_chunk_at is not None and chunk.text:
                        metrics.INTER_TOKEN.observe(now - last_chunk_at)
                    if chunk.text:
                        last_chunk_at = now
                    answer.usage = chunk.usage or answer.usage
                    answer.model = chunk.model or answer.model
                    text = coalescer.add(chunk.text, now)
                else:
                    text = coalescer.take(now)
                if text:
                    await self._emit_delta(answer, text, started)
        except ChatbotError as exc:
            answer.error = exc
        except Exception as exc:
            log.exception("streaming failed", extra={"conversation_id": answer.conversation_id})
            answer.error = UpstreamError("the answer failed")
            answer.error.__cause__ = exc
        finally:
            stop_wait.cancel()
            if next_chunk is not None and not next_chunk.done():
                next_chunk.cancel()
                with contextlib.suppress(BaseException):
                    await next_chunk
            with contextlib.suppress(Exception):
                await chunks.aclose()  # type: ignore[attr-defined]
        rest = coalescer.take(time.monotonic())
        if rest:
            await self._emit_delta(answer, rest, started)

    async def _emit_delta(self, answer: Answer, text: str, started: float) -> None:
        assert answer.message is not None
        index = answer.next_index
        if self.live is not None:
            kept = await self._shared(
                self.live.append(answer.message["id"], text, index, answer.parts)
            )
            if kept is False:  # another replica continues this answer: say nothing more
                log.warning(
                    "answer taken over by another replica",
                    extra={"conversation_id": answer.conversation_id},
                )
                answer.abandon()
                return
        # State first, then the emit: the room's members are copied before emit first yields.
        answer.parts.append(text)
        answer.sent = index + 1
        if index == 0:
            answer.ttft = time.monotonic() - started
            metrics.TIME_TO_FIRST_TOKEN.observe(answer.ttft)
        metrics.DELTAS.inc()
        self._maybe_checkpoint(answer)
        await self.emit(
            "message.delta",
            {
                "conversation_id": answer.conversation_id,
                "message_id": answer.message["id"],
                "index": index,
                "delta": text,
            },
            room_of(answer.conversation_id),
        )

    def _maybe_checkpoint(self, answer: Answer) -> None:
        """Now and then save the text so far, so a crash keeps it (``interrupted``)."""
        now = time.monotonic()
        if (
            self.checkpoint_interval <= 0
            or now - answer.checkpointed_at < self.checkpoint_interval
            or (answer.checkpoint is not None and not answer.checkpoint.done())
        ):
            return
        answer.checkpointed_at = now
        answer.checkpoint = asyncio.create_task(self._save_text(answer, answer.text))

    async def _save_text(self, answer: Answer, text: str) -> None:
        assert answer.message is not None
        try:
            await self.history.save_text(
                answer.user_id, answer.conversation_id, answer.message["id"], text
            )
        except ChatbotError as exc:  # finalised meanwhile, or history busy: next time
            log.debug("checkpoint skipped", extra={"error": exc.message})
