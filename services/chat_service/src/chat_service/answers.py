"""Answers in flight on this replica: stream from the LLM service, emit deltas, finalise once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from chatbot_common.errors import ChatbotError, ConflictError, NotFoundError, UnavailableError
from redis.exceptions import RedisError

from . import metrics
from .history_client import HistoryClient, Json
from .live import RedisLive
from .llm_client import LlmClient
from .pace import LoopLag
from .sampling import request_fields
from .streaming import Answer, AnswerStreamer, Emit, room_of

__all__ = ["Answer", "AnswerManager", "Emit", "context_of", "room_of"]

log = logging.getLogger(__name__)

FINALISE_ATTEMPTS = 4


def context_of(system_prompt: str | None, recent: list[Json]) -> list[Json]:
    """The messages sent to the LLM service: the system prompt and the finished messages
    (a message naming files keeps them: ``attachments.expand_files`` reads them in)."""
    context: list[Json] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for m in recent:
        if (m["content"] or m.get("files")) and m["status"] != "streaming":
            item: Json = {"role": m["role"], "content": m["content"]}
            if m.get("files"):
                item["files"] = m["files"]
            context.append(item)
    return context


class AnswerManager(AnswerStreamer):
    def __init__(
        self,
        history: HistoryClient,
        llm: LlmClient,
        emit: Emit,
        *,
        context_messages: int,
        delta_interval: float,
        checkpoint_interval: float = 0.0,
        on_usage: Callable[[str, dict[str, int]], Awaitable[None]] | None = None,
        on_finished: Callable[[Answer, str], Awaitable[None]] | None = None,
        live: RedisLive | None = None,
        takeover_mode: str = "interrupt",
        delta_interval_max: float = 0.0,
        loop_lag: LoopLag | None = None,
    ) -> None:
        super().__init__(history, llm, emit, live, delta_interval, checkpoint_interval,
                         delta_interval_max, loop_lag)
        # "continue": another replica's orphaned answer is continued here (assistant prefill);
        # "interrupt": it is finalised ``interrupted`` with its text so far.
        self.takeover_mode = takeover_mode
        self.draining = False
        self.on_usage = on_usage  # counts the tokens of finished answers (rate limits)
        self.on_finished = on_finished  # records each finished answer's usage (admin view)
        self.context_messages = context_messages
        self._answers: dict[str, Answer] = {}

    # ---- queries -------------------------------------------------------------------------
    def in_flight(self, conversation_id: str) -> Answer | None:
        return self._answers.get(conversation_id)

    def local(self) -> list[Answer]:
        return list(self._answers.values())

    async def busy(self, conversation_id: str) -> bool:
        """Is an answer streaming in this conversation, here or on another replica?"""
        if conversation_id in self._answers:
            return True
        if self.live is None:
            return False
        try:
            return await self.live.busy(conversation_id)
        except RedisError:
            return False

    def owns(self, answer: Answer) -> bool:
        """Is ``answer`` still running here (not finished, handed over or let go)?"""
        return self._answers.get(answer.conversation_id) is answer and answer.end_status not in (
            "handover", "abandoned")

    def count(self) -> int:
        return len(self._answers)

    async def overlay(self, message: Json) -> Json | None:
        """A stored ``streaming`` message as it is now; ``None`` if no live answer owns it.

        Call it after joining the room. For an answer of this replica it reads local state
        without awaiting, so ``next_index`` is exactly the next delta the connection gets; for
        one of another replica the text comes from Redis and a delta may also arrive live
        (clients drop deltas below ``next_index``).
        """
        answer = self._answers.get(message["conversation_id"])
        if answer is None:
            return await self._remote_overlay(message)
        if answer.message is None:  # still being created: nothing emitted yet
            return {**message, "content": "", "next_index": 0}
        if answer.message["id"] != message["id"]:
            return None
        return {**message, "content": answer.text, "next_index": answer.next_index}

    async def _remote_overlay(self, message: Json) -> Json | None:
        if self.live is None:
            return None
        try:
            snap = await self.live.snapshot(message["conversation_id"])
        except RedisError:
            log.warning("redis unavailable: cannot read the live answer")
            return None
        if snap is None or snap.message_id not in ("", message["id"]):
            return None
        return {**message, "content": snap.text, "next_index": len(snap.parts)}

    # ---- control -------------------------------------------------------------------------
    async def start(
        self,
        user_id: str,
        conversation: Json,
        model: str | None,
        prepared: tuple[list[Json], Json] | None = None,
    ) -> Answer:
        """Start answering; ``prepared`` is ``(recent messages, the answer's placeholder)``
        when history already read the one and created the other (``start_turn``)."""
        cid = conversation["id"]
        if cid in self._answers:
            raise UnavailableError("an answer is already streaming in this conversation")
        answer = Answer(user_id=user_id, conversation_id=cid, model=model,
                        sampling=request_fields(conversation.get("sampling")))
        self._answers[cid] = answer
        if self.live is not None:
            try:
                claimed = await self.live.claim(cid, user_id)
            except RedisError:
                claimed = True  # Redis down: answer on this replica alone
                log.warning("redis unavailable: answering without sharing the answer")
            if not claimed:
                del self._answers[cid]
                raise UnavailableError("an answer is already streaming in this conversation")
        metrics.ANSWERS_IN_FLIGHT.inc()
        answer.task = asyncio.create_task(
            self._run(answer, conversation.get("system_prompt"), prepared), name=f"answer-{cid}"
        )
        return answer

    async def stop(
        self, conversation_id: str, status: str = "stopped", wait_seconds: float = 30
    ) -> bool:
        """Ask the in-flight answer to end with ``status`` and wait until it is finalised."""
        answer = self._answers.get(conversation_id)
        if answer is None:
            return await self._stop_remote(conversation_id, status, wait_seconds)
        answer.request_stop(status)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(answer.finished.wait(), wait_seconds)
        return True

    async def _stop_remote(self, cid: str, status: str, wait_seconds: float) -> bool:
        if self.live is None:
            return False
        try:
            if not await self.live.busy(cid):
                return False
            await self.live.request_stop(cid, status)
            await self.live.wait_released(cid, wait_seconds)
        except RedisError:
            log.warning("redis unavailable: cannot stop an answer of another replica")
            return False
        return True

    async def on_remote_stop(self, cid: str, status: str) -> None:
        """Another replica asks this one to stop its answer in ``cid``."""
        answer = self._answers.get(cid)
        if answer is not None:
            answer.request_stop(status)

    @property
    def continues(self) -> bool:
        return self.live is not None and self.takeover_mode == "continue"

    async def drain(self, deadline: float) -> None:
        """Shutdown: let answers finish until ``deadline`` (monotonic), then hand what is left
        to another replica (continue mode with Redis) or interrupt it."""
        self.draining = True
        pending = [a.finished.wait() for a in self._answers.values()]
        if pending:
            log.info("waiting for %d answer(s) to finish", len(pending))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*pending), max(0.0, deadline - time.monotonic())
                )
        left = list(self._answers.values())
        for answer in left:
            answer.request_stop("handover" if self.continues else "interrupted")
        if left:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(a.finished.wait() for a in left)), 10)

    # ---- the answer task -----------------------------------------------------------------
    async def _run(
        self, answer: Answer, system_prompt: str | None, prepared: tuple[list[Json], Json] | None
    ) -> None:
        started = time.monotonic()
        try:
            try:
                if prepared is not None:
                    context = context_of(system_prompt, prepared[0])
                    answer.message = prepared[1]
                else:
                    context = await self._context(answer, system_prompt)
                    answer.message, _ = await self.history.create_message(
                        answer.user_id,
                        answer.conversation_id,
                        {"role": "assistant", "content": "", "status": "streaming",
                         "model": answer.model},
                    )
                if self.live is not None:
                    await self._shared(
                        self.live.attach(answer.conversation_id, answer.message["id"])
                    )
            except ChatbotError as exc:
                await self._failed_to_start(answer, exc)
                return
            if not answer.stop_event.is_set():
                await self.stream(answer, context, started)
            await self.end(answer)
        except Exception:
            log.exception("answer task failed", extra={"conversation_id": answer.conversation_id})
        finally:
            await self.untrack(answer)
            answer.finished.set()

    async def end(self, answer: Answer) -> None:
        """Finalise the answer, or hand it over / let it go (another replica goes on)."""
        if answer.end_status == "abandoned":  # another replica has taken it over
            self._forget(answer)
            return
        if answer.end_status == "handover":
            if await self._hand_over(answer):
                return
            answer.end_status = "interrupted"
        await self._finish(answer)

    async def _hand_over(self, answer: Answer) -> bool:
        """Leave the answer (text so far in Redis) for another replica to continue at once."""
        assert answer.message is not None and self.live is not None
        if answer.checkpoint is not None:
            with contextlib.suppress(Exception):
                await answer.checkpoint
        mid = answer.message["id"]
        if not await self._shared(self.live.hand_over(answer.conversation_id, mid, answer.parts)):
            return False
        self._forget(answer)
        metrics.ANSWERS.labels("handed_over").inc()
        log.info("answer handed over", extra={"conversation_id": answer.conversation_id,
                                              "next_index": answer.next_index})
        return True

    def track(self, answer: Answer) -> None:
        """An answer taken over from another replica now streams here."""
        self._answers[answer.conversation_id] = answer
        metrics.ANSWERS_IN_FLIGHT.inc()

    async def untrack(self, answer: Answer) -> None:
        if self._answers.get(answer.conversation_id) is answer:
            await self._release(answer)

    def _forget(self, answer: Answer) -> None:
        if self._answers.get(answer.conversation_id) is answer:
            del self._answers[answer.conversation_id]
            metrics.ANSWERS_IN_FLIGHT.dec()

    async def _release(self, answer: Answer) -> None:
        """Drop the answer here and (once it is finalised) from Redis."""
        self._forget(answer)
        if self.live is not None:
            mid = answer.message["id"] if answer.message else None
            await self._shared(self.live.release(answer.conversation_id, mid))

    async def _context(self, answer: Answer, system_prompt: str | None) -> list[Json]:
        """The system prompt and the recent finished messages (the LLM service trims)."""
        recent = await self.history.list_messages(
            answer.user_id, answer.conversation_id, limit=self.context_messages
        )
        return context_of(system_prompt, recent)

    async def _finish(self, answer: Answer) -> None:
        assert answer.message is not None
        if answer.checkpoint is not None:
            with contextlib.suppress(Exception):
                await answer.checkpoint
        status = answer.end_status or ("error" if answer.error else "complete")
        body: Json = {"content": answer.text, "status": status, "expect_status": "streaming"}
        if answer.usage:
            body["usage"] = answer.usage
        if answer.model:
            body["model"] = answer.model
        final = await self.finalise(answer.user_id, answer.message, body)
        await self._release(answer)
        metrics.ANSWERS.labels(status).inc()
        if self.on_finished is not None:
            # Before message.done: a client that saw the answer end finds it counted. A
            # deleted conversation's answer counts too.
            try:
                await self.on_finished(answer, status)
            except Exception:
                log.warning("could not record the answer's usage", exc_info=True)
        try:
            if final is not None:  # else the conversation was deleted meanwhile
                await self._announce(answer, final)
        finally:  # after the emits: the limiter's store (Redis) may be slow to answer
            if answer.usage and self.on_usage is not None:
                try:
                    await self.on_usage(answer.user_id, answer.usage)
                except Exception:
                    log.warning("could not count the answer's tokens", exc_info=True)


    async def _announce(self, answer: Answer, final: Json) -> None:
        room = room_of(answer.conversation_id)
        if answer.error is not None:
            await self.emit(
                "message.error",
                {"conversation_id": answer.conversation_id, "message_id": final["id"],
                 "error": {"code": answer.error.code, "message": answer.error.message}},
                room,
            )
        await self.emit("message.done", {"message": final}, room)
        await self.emit_conversation(answer.user_id, answer.conversation_id)

    async def finalise(self, user_id: str, message: Json, body: Json) -> Json | None:
        """PATCH a streaming message once (``expect_status``); the stored message or None."""
        cid, mid = message["conversation_id"], message["id"]
        delay = 0.2
        for attempt in range(FINALISE_ATTEMPTS):
            try:
                return await self.history.update_message(user_id, cid, mid, body)
            except ConflictError:
                return await self._stored(user_id, message)
            except NotFoundError:
                return None
            except ChatbotError:
                if attempt == FINALISE_ATTEMPTS - 1:
                    log.error("could not finalise an answer", extra={"message_id": mid})
                    return {**message, "content": body["content"], "status": body["status"]}
                await asyncio.sleep(delay)
                delay *= 2
        return None

    async def _stored(self, user_id: str, message: Json) -> Json | None:
        found = await self.history.list_messages(
            user_id, message["conversation_id"], after_seq=message["seq"] - 1, limit=1
        )
        return found[0] if found and found[0]["id"] == message["id"] else None

    async def emit_conversation(self, user_id: str, conversation_id: str) -> None:
        try:
            conversation = await self.history.get_conversation(user_id, conversation_id)
        except ChatbotError:
            return
        await self.emit(
            "conversation.updated", {"conversation": conversation}, room_of(conversation_id)
        )

    async def _failed_to_start(self, answer: Answer, exc: ChatbotError) -> None:
        log.warning("could not start an answer", extra={"error": exc.message})
        await self._release(answer)
        metrics.ANSWERS.labels("error").inc()
        await self.emit(
            "message.error",
            {"conversation_id": answer.conversation_id,
             "error": {"code": exc.code, "message": exc.message}},
            room_of(answer.conversation_id),
        )
