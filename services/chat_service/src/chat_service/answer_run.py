"""One object runs one answer from start to end: its context, the LLM stream, coalescing into
contiguous deltas, sharing them (Redis records), emitting them to the conversation's room,
checkpointing the text to history, and ending it once: finalised, handed over or let go.

The registry (``registry.AnswerRegistry``) creates an ``AnswerRun`` per answer and is told,
through the ``Tracker`` calls, when the answer stops being this replica's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from chatbot_common.backoff import Backoff
from chatbot_common.contract import AnswerEnd, MessageStatus
from chatbot_common.errors import ChatbotError, ConflictError, NotFoundError, UpstreamError

from . import metrics
from .answer import Answer, Emit, room_of
from .attachments import expand_files
from .coalescer import Coalescer
from .feed import END, Feed
from .history_client import HistoryClient, Json
from .llm_client import Chunk, LlmClient
from .pace import Clock, MonotonicClock, checkpoint_interval
from .shared import LocalOnly, SharedAnswers

log = logging.getLogger(__name__)

FINALISE_ATTEMPTS = 4
FINALISE_BACKOFF = Backoff(base=0.2, cap=2.0, floor=0.5)  # 0.1-0.2 s, 0.2-0.4 s, 0.4-0.8 s


def _fixed_interval() -> float:
    return 0.0


def _unloaded() -> float:
    return 1.0


@dataclass
class Finished:
    """A finalised answer: its stored message (None: gone) and, when history's ``finish``
    stored it, its conversation as read back (its usage record stored with it)."""

    message: Json | None
    conversation: Json | None = None


@dataclass
class AnswerPorts:
    """What an answer needs from outside: the services, the room, the shared records, time."""

    history: HistoryClient
    llm: LlmClient
    emit: Emit
    shared: SharedAnswers = field(default_factory=LocalOnly)
    clock: Clock = field(default_factory=MonotonicClock)
    interval: Callable[[], float] = _fixed_interval  # the coalescing interval now
    checkpoint_interval: float = 0.0  # while the loop keeps up; 0: never
    checkpoint_max: float = 0.0  # the bound it stretches to under load
    load: Callable[[], float] = _unloaded  # pace.load_factor now
    # The delta's Socket.IO message for the other replicas (stored and published in one
    # Redis step), and the emit to this replica's clients only; None: no other replicas.
    publication: Callable[[str, Json, str], tuple[str, str] | None] | None = None
    emit_local: Emit | None = None
    on_usage: Callable[[str, dict[str, int]], Awaitable[None]] | None = None
    on_finished: Callable[[Answer, str], Awaitable[None]] | None = None
    # The answer's usage record, stored in the round trip that finalises it (then
    # ``on_finished`` is not called); None: ``on_finished`` records it.
    usage_record: Callable[[Answer, str], Json | None] | None = None

    async def finalise(self, user_id: str, message: Json, body: Json) -> Json | None:
        """Make a streaming message final once (``expect_status``), retrying a busy history
        with back-off; the stored message, or None if it is gone."""
        return (await self.finish(user_id, message, body)).message

    async def finish(self, user_id: str, message: Json, body: Json,
                     usage_record: Json | None = None) -> Finished:
        """``finalise``, with the answer's usage record stored and the conversation read back
        in the same round trip (history's ``finish``); when the message was final already,
        neither (``Finished.conversation`` None)."""
        cid, mid = message["conversation_id"], message["id"]
        for attempt in range(FINALISE_ATTEMPTS):
            try:
                final, conversation = await self.history.finish_answer(
                    user_id, cid, mid, body, usage_record)
                return Finished(final, conversation)
            except ConflictError:  # already final (another replica, or a sweep)
                found = await self.history.list_messages(
                    user_id, cid, after_seq=message["seq"] - 1, limit=1)
                return Finished(found[0] if found and found[0]["id"] == mid else None)
            except NotFoundError:
                return Finished(None)
            except ChatbotError:
                if attempt == FINALISE_ATTEMPTS - 1:
                    log.error("could not finalise an answer", extra={"message_id": mid})
                    kept = {k: v for k, v in message.items() if k != "next_index"}
                    return Finished({**kept, "content": body["content"],
                                     "status": body["status"]})
                await self.clock.sleep(FINALISE_BACKOFF.delay(attempt))
        return Finished(None)

    async def emit_conversation(self, user_id: str, conversation_id: str,
                                conversation: Json | None = None) -> None:
        """``conversation.updated`` to its room (``conversation`` as read, else read now)."""
        if conversation is None:
            try:
                conversation = await self.history.get_conversation(user_id, conversation_id)
            except ChatbotError:
                return
        await self.emit(
            "conversation.updated", {"conversation": conversation}, room_of(conversation_id))


class Tracker(Protocol):
    """The registry's side of an answer that stops being this replica's."""

    def forget(self, answer: Answer) -> None:
        """Drop it here only (its Redis record belongs to another replica now)."""

    async def release(self, answer: Answer) -> None:
        """Drop it here and its Redis record (no-op once dropped)."""


class AnswerRun:
    def __init__(self, answer: Answer, ports: AnswerPorts, tracker: Tracker) -> None:
        self.answer = answer
        self.ports = ports
        self.tracker = tracker

    # ---- the two ways an answer runs -------------------------------------------------------
    async def new(self, context: Callable[[], Awaitable[list[Json]]],
                  message: Callable[[], Awaitable[Json]]) -> None:
        """A new answer: read its ``context``, create (or take) its ``message``, stream, end."""
        answer, started = self.answer, self.ports.clock.now()
        try:
            try:
                prompt = await context()
                answer.message = await message()
                await self.ports.shared.attach(answer.conversation_id, answer.message["id"])
            except ChatbotError as exc:
                await self._failed_to_start(exc)
                return
            if not answer.stop_event.is_set():
                await self._stream(prompt, started)
            await self._end()
        except Exception:
            log.exception("answer task failed", extra={"conversation_id": answer.conversation_id})
        finally:
            await self.tracker.release(answer)
            answer.finished.set()

    async def resumed(self, prompt: list[Json]) -> None:
        """An answer taken over from another replica: stream what the model adds, end. A
        continuation that fails before its first new token ends ``interrupted``."""
        answer = self.answer
        try:
            await self._stream(prompt, self.ports.clock.now())
            if answer.error is not None and answer.next_index == answer.resumed_from:
                log.warning("could not continue a taken-over answer", extra={
                    "conversation_id": answer.conversation_id, "error": answer.error.message})
                answer.error = None
                answer.end_status = answer.end_status or AnswerEnd.INTERRUPTED
            await self._end()
        except Exception:
            log.exception("answer task failed", extra={"conversation_id": answer.conversation_id})
        finally:
            with contextlib.suppress(Exception):
                await self.tracker.release(answer)
            answer.finished.set()

    # ---- streaming -----------------------------------------------------------------------
    # One loop: wait for the next chunks, a stop or the coalescer's deadline, whichever first.
    async def _chunks(self, prompt: list[Json]) -> AsyncIterator[Chunk]:
        """The answer's chunks; the files its prompt names are read in first."""
        messages = await expand_files(self.ports.history, self.answer.user_id, prompt)
        # Read at the coalescing pace: reading the LLM service more often than a delta goes
        # out would only cost reads (the first chunk comes at once; DELTA_INTERVAL_MS=0: off).
        async for chunk in self.ports.llm.stream(messages, self.answer.model,
                                                 self.answer.sampling, pace=self._read_pace()):
            yield chunk

    def _read_pace(self) -> Callable[[], float] | None:
        interval = self.ports.interval
        return interval if interval() > 0 else None

    async def _stream(self, prompt: list[Json], started: float) -> None:
        answer, clock = self.answer, self.ports.clock
        coalescer = Coalescer(self.ports.interval())
        feed = Feed(self._chunks(prompt))
        stop_wait = asyncio.ensure_future(answer.stop_event.wait())
        stop_wait.add_done_callback(feed.wake)
        last_chunk_at: float | None = None
        try:
            while True:
                coalescer.interval = self.ports.interval()
                item = await feed.next(coalescer.wait_time(clock.now()))
                if stop_wait.done() or item is END:
                    break
                now = clock.now()
                if isinstance(item, Exception):
                    raise item
                text: str | None
                if item is None:  # the coalescer's deadline
                    text = coalescer.take(now)
                else:
                    chunk: Chunk = item
                    if chunk.text:
                        if last_chunk_at is not None:
                            metrics.INTER_TOKEN.observe(now - last_chunk_at)
                        last_chunk_at = now
                    answer.usage = chunk.usage or answer.usage
                    answer.model = chunk.model or answer.model
                    text = coalescer.add(chunk.text, now)
                if text:
                    await self._delta(text, started)
        except ChatbotError as exc:
            answer.error = exc
        except Exception as exc:
            log.exception("streaming failed", extra={"conversation_id": answer.conversation_id})
            answer.error = UpstreamError("the answer failed")
            answer.error.__cause__ = exc
        finally:
            stop_wait.cancel()
            await feed.aclose()
        rest = coalescer.take(clock.now())
        if rest and answer.end_status != AnswerEnd.ABANDONED:
            await self._delta(rest, started)

    async def _delta(self, text: str, started: float) -> None:
        answer = self.answer
        assert answer.message is not None
        index = answer.next_index
        ports, room = self.ports, room_of(answer.conversation_id)
        data = {"conversation_id": answer.conversation_id, "message_id": answer.message["id"],
                "index": index, "delta": text}
        publish = ports.publication("message.delta", data, room) \
            if ports.publication is not None and ports.emit_local is not None else None
        if not await ports.shared.append(answer.message["id"], text, index, answer.parts,
                                         publish):
            # Another replica continues this answer: say nothing more.
            log.warning("answer taken over by another replica",
                        extra={"conversation_id": answer.conversation_id})
            answer.abandon()
            return
        # State first, then the emit: the room's members are copied before emit first yields.
        answer.parts.append(text)
        if index == 0:
            answer.ttft = self.ports.clock.now() - started
            metrics.TIME_TO_FIRST_TOKEN.observe(answer.ttft)
        metrics.DELTAS.inc()
        self._maybe_checkpoint()
        emit = ports.emit_local if publish is not None and ports.emit_local else ports.emit
        await emit("message.delta", data, room)

    def _maybe_checkpoint(self) -> None:
        """Now and then save the text so far, so a crash keeps it (``interrupted``)."""
        answer, ports = self.answer, self.ports
        now = ports.clock.now()
        interval = checkpoint_interval(ports.checkpoint_interval, ports.checkpoint_max,
                                       ports.load())
        if (
            interval <= 0
            or (answer.checkpointed_at is not None and now - answer.checkpointed_at < interval)
            or (answer.checkpoint is not None and not answer.checkpoint.done())
        ):
            return
        answer.checkpointed_at = now
        # The text and the number of deltas in it, taken together (no await between): the
        # stored pair lets a replica that cannot see this answer send it with ``next_index``.
        answer.checkpoint = asyncio.create_task(
            self._save_text(answer.text, answer.next_index))

    async def _save_text(self, text: str, next_index: int) -> None:
        answer = self.answer
        assert answer.message is not None
        try:
            await self.ports.history.save_text(
                answer.user_id, answer.conversation_id, answer.message["id"], text, next_index)
        except ChatbotError as exc:  # finalised meanwhile, or history busy: next time
            log.debug("checkpoint skipped", extra={"error": exc.message})

    async def _checkpoint_done(self) -> None:
        if self.answer.checkpoint is not None:
            with contextlib.suppress(Exception):
                await self.answer.checkpoint

    # ---- the end -------------------------------------------------------------------------
    async def _end(self) -> None:
        """Finalise the answer, or hand it over / let it go (another replica goes on)."""
        answer = self.answer
        if answer.end_status == AnswerEnd.ABANDONED:  # another replica has taken it over
            self.tracker.forget(answer)
            return
        if answer.end_status == AnswerEnd.HANDOVER:
            if await self._hand_over():
                return
            answer.end_status = AnswerEnd.INTERRUPTED
        await self._finish()

    async def _hand_over(self) -> bool:
        """Leave the answer (text so far in Redis) for another replica to continue at once."""
        answer = self.answer
        assert answer.message is not None
        await self._checkpoint_done()
        cid, mid = answer.conversation_id, answer.message["id"]
        if not await self.ports.shared.hand_over(cid, mid, answer.parts):
            return False
        self.tracker.forget(answer)
        metrics.ANSWERS.labels("handed_over").inc()
        log.info("answer handed over",
                 extra={"conversation_id": cid, "next_index": answer.next_index})
        return True

    async def _finish(self) -> None:
        answer, ports = self.answer, self.ports
        assert answer.message is not None
        await self._checkpoint_done()
        end = answer.end_status or (AnswerEnd.ERROR if answer.error else AnswerEnd.COMPLETE)
        status = end.status
        assert status is not None  # hand-overs and let-go answers never get here
        body: Json = {"content": answer.text, "status": status,
                      "expect_status": MessageStatus.STREAMING}
        if answer.usage:
            body["usage"] = answer.usage
        if answer.model:
            body["model"] = answer.model
        record = ports.usage_record(answer, status) if ports.usage_record else None
        final = await ports.finish(answer.user_id, answer.message, body, record)
        await self.tracker.release(answer)
        metrics.ANSWERS.labels(status).inc()
        if ports.on_finished is not None and (record is None or final.conversation is None):
            # Before message.done: a client that saw the answer end finds it counted. A
            # deleted conversation's answer counts too.
            try:
                await ports.on_finished(answer, status)
            except Exception:
                log.warning("could not record the answer's usage", exc_info=True)
        try:
            if final.message is not None:  # else the conversation was deleted meanwhile
                await self._announce(final.message, final.conversation)
        finally:  # after the emits: the limiter's store (Redis) may be slow to answer
            if answer.usage and ports.on_usage is not None:
                try:
                    await ports.on_usage(answer.user_id, answer.usage)
                except Exception:
                    log.warning("could not count the answer's tokens", exc_info=True)

    async def _announce(self, final: Json, conversation: Json | None) -> None:
        answer, emit = self.answer, self.ports.emit
        room = room_of(answer.conversation_id)
        if answer.error is not None:
            await emit(
                "message.error",
                {"conversation_id": answer.conversation_id, "message_id": final["id"],
                 "error": {"code": answer.error.code, "message": answer.error.message}},
                room,
            )
        await emit("message.done", {"message": final}, room)
        await self.ports.emit_conversation(answer.user_id, answer.conversation_id, conversation)

    async def _failed_to_start(self, exc: ChatbotError) -> None:
        answer = self.answer
        log.warning("could not start an answer", extra={"error": exc.message})
        await self.tracker.release(answer)
        metrics.ANSWERS.labels(MessageStatus.ERROR).inc()
        await self.ports.emit(
            "message.error",
            {"conversation_id": answer.conversation_id,
             "error": {"code": exc.code, "message": exc.message}},
            room_of(answer.conversation_id),
        )
