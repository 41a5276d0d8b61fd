"""This replica's answers in flight and their claims in the shared (Redis) records.

The registry starts answers (one ``AnswerRun`` each), stops them (here or, through Redis, on
another replica), overlays the text so far on a ``streaming`` message, drains on shutdown
(finish, else hand over or interrupt), restores Redis's records after an outage (``resync``)
and takes over answers whose replica died or handed them over:

With ``TAKEOVER_MODE=continue`` (default) the taking replica asks the LLM service again with
the same context plus the text so far as a final ``assistant`` message (prefill) and streams
only what the model adds, as the same message from the next delta index. If that fails before
a first new token, or with ``TAKEOVER_MODE=interrupt``, the message ends ``interrupted`` with
its text. The lease's ``SET NX`` picks one taker, the history's ``expect_status`` one finaliser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from chatbot_common.contract import AnswerEnd, MessageStatus, Role
from chatbot_common.errors import ChatbotError, NotFoundError, UnavailableError

from . import metrics
from .answer import Answer, context_of, room_of
from .answer_run import AnswerPorts, AnswerRun
from .history_client import Json
from .live import LiveAnswer
from .sampling import request_fields

log = logging.getLogger(__name__)

Prepared = tuple[list[Json], Json]  # (recent messages, the answer's placeholder)


class AnswerRegistry:
    def __init__(
        self, ports: AnswerPorts, *, context_messages: int, takeover_mode: str = "interrupt"
    ) -> None:
        self.ports = ports
        self.shared = ports.shared
        self.context_messages = context_messages
        # "continue": another replica's orphaned answer is continued here (assistant prefill);
        # "interrupt": it is finalised ``interrupted`` with its text so far.
        self.takeover_mode = takeover_mode
        self.draining = False
        self._answers: dict[str, Answer] = {}

    # ---- queries -------------------------------------------------------------------------
    def in_flight(self, conversation_id: str) -> Answer | None:
        return self._answers.get(conversation_id)

    def local(self) -> list[Answer]:
        return list(self._answers.values())

    def count(self) -> int:
        return len(self._answers)

    def owns(self, answer: Answer) -> bool:
        """Is ``answer`` still running here (not finished, handed over or let go)?"""
        return self._answers.get(answer.conversation_id) is answer and answer.running

    @property
    def continues(self) -> bool:
        return self.shared.enabled and self.takeover_mode == "continue"

    async def busy(self, conversation_id: str) -> bool:
        """Is an answer streaming in this conversation, here or on another replica?"""
        return conversation_id in self._answers or await self.shared.busy(conversation_id)

    async def overlay(self, message: Json) -> Json | None:
        """A stored ``streaming`` message as it is now; ``None`` if no live answer owns it.

        Call it after joining the room. For an answer of this replica it reads local state
        without awaiting, so ``next_index`` is exactly the next delta the connection gets; for
        one of another replica the text comes from Redis and a delta may also arrive live
        (clients drop deltas below ``next_index``).
        """
        answer = self._answers.get(message["conversation_id"])
        if answer is None:
            snap = await self.shared.snapshot(message["conversation_id"])
            if snap is None or snap.message_id not in ("", message["id"]):
                return None
            return {**message, "content": snap.text, "next_index": len(snap.parts)}
        if answer.message is None:  # still being created: nothing emitted yet
            return {**message, "content": "", "next_index": 0}
        if answer.message["id"] != message["id"]:
            return None
        return {**message, "content": answer.text, "next_index": answer.next_index}

    # ---- the tracker an answer reports to ------------------------------------------------
    def forget(self, answer: Answer) -> None:
        if self._answers.get(answer.conversation_id) is answer:
            del self._answers[answer.conversation_id]
            metrics.ANSWERS_IN_FLIGHT.dec()

    async def release(self, answer: Answer) -> None:
        if self._answers.get(answer.conversation_id) is answer:
            self.forget(answer)
            await self.shared.release(answer.conversation_id, answer.message_id)

    def _track(self, answer: Answer, job: Callable[[AnswerRun], Coroutine[Any, Any, None]]) -> None:
        self._answers[answer.conversation_id] = answer
        metrics.ANSWERS_IN_FLIGHT.inc()
        run = AnswerRun(answer, self.ports, self)
        answer.task = asyncio.create_task(job(run), name=f"answer-{answer.conversation_id}")

    # ---- control -------------------------------------------------------------------------
    async def start(
        self, user_id: str, conversation: Json, model: str | None,
        prepared: Prepared | None = None,
    ) -> Answer:
        """Start answering; ``prepared`` when history already read the context and created
        the placeholder (the one-call turn, ``POST .../turns``)."""
        cid = conversation["id"]
        if cid in self._answers:
            raise UnavailableError("an answer is already streaming in this conversation")
        answer = Answer(user_id=user_id, conversation_id=cid, model=model,
                        sampling=request_fields(conversation.get("sampling")))
        self._answers[cid] = answer  # held while Redis is asked: no second start meanwhile
        claimed = await self.shared.claim(cid, user_id)
        del self._answers[cid]
        if not claimed:
            raise UnavailableError("an answer is already streaming in this conversation")
        system_prompt = conversation.get("system_prompt")
        history = self.ports.history

        async def context() -> list[Json]:
            recent = prepared[0] if prepared is not None else await history.list_messages(
                user_id, cid, limit=self.context_messages)
            return context_of(system_prompt, recent)

        async def message() -> Json:
            if prepared is not None:
                return prepared[1]
            created, _ = await history.create_message(user_id, cid, {
                "role": Role.ASSISTANT, "content": "", "status": MessageStatus.STREAMING,
                "model": model})
            return created

        self._track(answer, lambda run: run.new(context, message))
        return answer

    async def stop(
        self, conversation_id: str, status: AnswerEnd = AnswerEnd.STOPPED,
        wait_seconds: float = 30,
    ) -> bool:
        """Ask the in-flight answer to end with ``status`` and wait until it is finalised."""
        answer = self._answers.get(conversation_id)
        if answer is None:
            return await self.shared.stop_remote(conversation_id, status, wait_seconds)
        answer.request_stop(status)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(answer.finished.wait(), wait_seconds)
        return True

    async def on_remote_stop(self, cid: str, status: str) -> None:
        """Another replica asks this one to stop its answer in ``cid``."""
        answer = self._answers.get(cid)
        if answer is None:
            return
        try:
            answer.request_stop(AnswerEnd(status))
        except ValueError:
            log.warning("stop request with an unknown status", extra={"status": status})

    async def drain(self, deadline: float) -> None:
        """Shutdown: let answers finish until ``deadline`` (the clock's), then hand what is
        left to another replica (continue mode with Redis) or interrupt it."""
        self.draining = True
        pending = [a.finished.wait() for a in self._answers.values()]
        if pending:
            log.info("waiting for %d answer(s) to finish", len(pending))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*pending), max(0.0, deadline - self.ports.clock.now()))
        left = list(self._answers.values())
        for answer in left:
            answer.request_stop(AnswerEnd.HANDOVER if self.continues else AnswerEnd.INTERRUPTED)
        if left:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(a.finished.wait() for a in left)), 10)

    async def emit_conversation(self, user_id: str, conversation_id: str) -> None:
        await self.ports.emit_conversation(user_id, conversation_id)

    # ---- Redis's records -----------------------------------------------------------------
    async def resync(self, *, renew_first: bool) -> None:
        """Renew our leases (``renew_first``); rewrite the record of each answer whose lease
        Redis forgot (restart) or, with ``renew_first`` False, of every one (back after an
        outage: the deltas streamed meanwhile from memory). Raises ``RedisError``."""
        for answer in self.local():
            cid, mid = answer.conversation_id, answer.message_id
            if not self.owns(answer) or (renew_first and await self.shared.renew(cid)):
                continue  # finished, handed over or let go meanwhile; or renewed
            if await self.shared.resync(cid, mid, answer.user_id, list(answer.parts)):
                if not self.owns(answer):  # it ended while the lease came back
                    await self.shared.release(cid, mid)
                    continue
                log.info("answer's record restored",
                         extra={"conversation_id": cid, "next_index": answer.next_index})
            else:  # another replica continues it (we were presumed dead): let it go
                log.warning("lease taken by another replica", extra={"conversation_id": cid})
                answer.abandon()

    # ---- take-over -----------------------------------------------------------------------
    async def take_over_orphans(self) -> None:
        """Take over the answers whose replica stopped renewing its lease."""
        if self.draining or not self.shared.up:
            return
        for cid in await self.shared.orphans():
            await self.take_over(cid)

    async def take_over(self, cid: str) -> None:
        """Take over the answer in ``cid`` if it has no owner (at most one replica wins)."""
        if self.draining or cid in self._answers:
            return
        snap = await self.shared.take_over(cid)
        if snap is not None:
            await self._adopt(snap)

    async def interrupt_orphan(self, user_id: str, message: Json) -> Json | None:
        """A ``streaming`` message no live answer owns: take it over (continue it, or end it
        ``interrupted`` with the text Redis holds); with no trace in Redis it ends
        ``interrupted``. Returns the message as it is now (``next_index`` while continued),
        or None when it was left as it is (the caller sends it as stored: the last
        checkpoint's text with the ``next_index`` history keeps beside it, ``answer.as_sent``)."""
        cid = message["conversation_id"]
        found = await self.shared.orphan(cid, message["id"], take=not self.draining)
        if found.state == "unknown":
            # Redis cannot say whether another replica streams it (down, or slower than the
            # gate's bound on a busy machine): never end a live answer on a guess. It stays
            # ``streaming``; the next read with Redis back settles it.
            log.info("orphan check postponed", extra={"conversation_id": cid})
            return None
        if found.state == "owned":  # another replica owns it, or is about to take it
            return await self.overlay(message) or message  # no snapshot: as stored
        if found.snap is not None:
            now = await self._adopt(found.snap)
            if found.snap.message_id == message["id"]:
                return now
        final = await self.ports.finalise(user_id, message, {
            "content": message["content"], "status": MessageStatus.INTERRUPTED,
            "expect_status": MessageStatus.STREAMING})
        if final is not None and final.get("status") == MessageStatus.INTERRUPTED:
            metrics.ANSWERS.labels(MessageStatus.INTERRUPTED).inc()
        return final

    async def _adopt(self, snap: LiveAnswer) -> Json | None:
        """Take over a claimed answer (``snap``, this replica holds its lease)."""
        cid = snap.conversation_id
        try:
            message, context, sampling = await self._find(snap)
        except ChatbotError as exc:  # history busy: give the lease back, the next scan retries
            log.warning("cannot take over an answer yet", extra={"error": exc.message})
            await self.shared.drop_lease(cid)
            return None
        if message is None:  # deleted, or already final
            await self.shared.release(cid, snap.message_id or None)
            return None
        if self.continues and not self.draining and cid not in self._answers:
            answer = Answer(user_id=snap.user_id, conversation_id=cid, sampling=sampling,
                            model=message.get("model"), message=message,
                            parts=list(snap.parts), resumed_from=len(snap.parts))
            prompt = [*context, {"role": "assistant", "content": answer.text}] \
                if snap.parts else context
            self._track(answer, lambda run: run.resumed(prompt))
            log.info("continuing an answer taken over",
                     extra={"conversation_id": cid, "next_index": answer.next_index})
            return {**message, "content": answer.text, "next_index": answer.next_index}
        return await self._interrupt(snap, message)

    async def _find(self, snap: LiveAnswer) -> tuple[Json | None, list[Json], Json]:
        """The streaming message, the context its answer was asked with, its sampling."""
        if not snap.message_id:
            return None, [], {}
        history = self.ports.history
        try:
            conversation = await history.get_conversation(snap.user_id, snap.conversation_id)
            recent = await history.list_messages(
                snap.user_id, snap.conversation_id, limit=self.context_messages + 1)
        except NotFoundError:
            return None, [], {}
        message = next((m for m in recent if m["id"] == snap.message_id), None)
        if message is None or message["status"] != MessageStatus.STREAMING:
            return None, [], {}
        before = [m for m in recent if m["seq"] < message["seq"]][-self.context_messages:]
        sampling = request_fields(conversation.get("sampling"))
        return message, context_of(conversation.get("system_prompt"), before), sampling

    async def _interrupt(self, snap: LiveAnswer, message: Json) -> Json | None:
        cid = snap.conversation_id
        try:
            final = await self.ports.finalise(snap.user_id, message, {
                "content": snap.text, "status": MessageStatus.INTERRUPTED,
                "expect_status": MessageStatus.STREAMING})
        finally:
            await self.shared.release(cid, snap.message_id or None)
        if final is not None and final.get("status") == MessageStatus.INTERRUPTED:
            log.info("took over an orphaned answer", extra={"conversation_id": cid})
            metrics.ANSWERS.labels(MessageStatus.INTERRUPTED).inc()
            await self.ports.emit("message.done", {"message": final}, room_of(cid))
            await self.ports.emit_conversation(snap.user_id, cid)
        return final

