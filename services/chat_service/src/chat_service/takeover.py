"""Answers whose replica died (or handed them over on SIGTERM) are taken over by another one.

With ``TAKEOVER_MODE=continue`` (default) the taking replica asks the LLM service again with
the same context plus the text so far as a final ``assistant`` message (prefill: llama.cpp's
server, vLLM's ``continue_final_message``, the fake upstream continue it) and streams only what
the model adds, as the same message from the next delta index. If that fails before a first
new token, or with ``TAKEOVER_MODE=interrupt``, the message ends ``interrupted`` with its text.
The lease's ``SET NX`` picks one taker, the history's ``expect_status`` one finaliser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from chatbot_common.errors import ChatbotError, NotFoundError
from redis.exceptions import RedisError

from . import metrics
from .answers import Answer, AnswerManager, context_of, room_of
from .history_client import Json
from .live import LiveAnswer

log = logging.getLogger(__name__)


async def interrupt_orphan(answers: AnswerManager, user_id: str, message: Json) -> Json | None:
    """A ``streaming`` message no live answer owns: take it over (continue it, or end it
    ``interrupted`` with the text Redis holds); with no trace in Redis it ends ``interrupted``.

    Returns the message as it is now (with ``next_index`` while it is being continued), or
    None when it was left as it is."""
    cid = message["conversation_id"]
    if answers.live is not None:
        try:
            snap = None if answers.draining else await answers.live.take_over(cid)
            if snap is None and await answers.live.holds(cid, message["id"]):
                # Another replica owns it, or is about to take it: not an orphan.
                return await answers.overlay(message) or message
        except RedisError as exc:
            # Redis cannot say whether another replica streams it (down, or slower than the
            # gate's bound on a busy machine): never end a live answer on a guess. It stays
            # ``streaming``; the next read with Redis back settles it.
            log.info("orphan check postponed", extra={"conversation_id": cid, "error": str(exc)})
            return None
        if snap is not None:
            now = await adopt(answers, snap)
            if snap.message_id == message["id"]:
                return now
    final = await answers.finalise(
        user_id,
        message,
        {"content": message["content"], "status": "interrupted", "expect_status": "streaming"},
    )
    if final is not None and final.get("status") == "interrupted":
        metrics.ANSWERS.labels("interrupted").inc()
    return final


async def adopt(answers: AnswerManager, snap: LiveAnswer) -> Json | None:
    """Take over a claimed answer (``snap``, this replica holds its lease)."""
    live = answers.live
    assert live is not None
    cid = snap.conversation_id
    try:
        message, context = await _find(answers, snap)
    except ChatbotError as exc:  # history busy: give the lease back, the next scan retries
        log.warning("cannot take over an answer yet", extra={"error": exc.message})
        await answers._shared(live.drop_lease(cid))
        return None
    if message is None:  # deleted, or already final
        await answers._shared(live.release(cid, snap.message_id or None))
        return None
    if answers.continues and not answers.draining and answers.in_flight(cid) is None:
        answer = resume(answers, snap.user_id, message, snap.parts, context)
        log.info(
            "continuing an answer taken over",
            extra={"conversation_id": cid, "next_index": answer.next_index},
        )
        return {**message, "content": answer.text, "next_index": answer.next_index}
    return await _interrupt(answers, snap, message)


async def _find(
    answers: AnswerManager, snap: LiveAnswer
) -> tuple[Json | None, list[dict[str, str]]]:
    """The streaming message and the context its answer was asked with."""
    if not snap.message_id:
        return None, []
    try:
        conversation = await answers.history.get_conversation(snap.user_id, snap.conversation_id)
        recent = await answers.history.list_messages(
            snap.user_id, snap.conversation_id, limit=answers.context_messages + 1
        )
    except NotFoundError:
        return None, []
    message = next((m for m in recent if m["id"] == snap.message_id), None)
    if message is None or message["status"] != "streaming":
        return None, []
    before = [m for m in recent if m["seq"] < message["seq"]][-answers.context_messages :]
    return message, context_of(conversation.get("system_prompt"), before)


async def _interrupt(answers: AnswerManager, snap: LiveAnswer, message: Json) -> Json | None:
    cid = snap.conversation_id
    try:
        final = await answers.finalise(
            snap.user_id,
            message,
            {"content": snap.text, "status": "interrupted", "expect_status": "streaming"},
        )
    finally:
        if answers.live is not None:
            await answers._shared(answers.live.release(cid, snap.message_id or None))
    if final is not None and final.get("status") == "interrupted":
        log.info("took over an orphaned answer", extra={"conversation_id": cid})
        metrics.ANSWERS.labels("interrupted").inc()
        await answers.emit("message.done", {"message": final}, room_of(cid))
        await answers.emit_conversation(snap.user_id, cid)
    return final


def resume(
    answers: AnswerManager,
    user_id: str,
    message: Json,
    parts: list[str],
    context: list[dict[str, str]],
) -> Answer:
    """Continue ``message`` on this replica from delta index ``len(parts)``."""
    cid = message["conversation_id"]
    answer = Answer(
        user_id=user_id,
        conversation_id=cid,
        model=message.get("model"),
        message=message,
        parts=list(parts),
        sent=len(parts),
        resumed_from=len(parts),
    )
    answers.track(answer)
    prompt = [*context, {"role": "assistant", "content": answer.text}] if parts else context
    answer.task = asyncio.create_task(_continue(answers, answer, prompt), name=f"resume-{cid}")
    return answer


async def _continue(answers: AnswerManager, answer: Answer, prompt: list[dict[str, str]]) -> None:
    try:
        await answers.stream(answer, prompt, time.monotonic())
        if answer.error is not None and answer.sent == answer.resumed_from:
            log.warning(
                "could not continue a taken-over answer",
                extra={"conversation_id": answer.conversation_id, "error": answer.error.message},
            )
            answer.error = None
            answer.end_status = answer.end_status or "interrupted"
        await answers.end(answer)
    except Exception:
        log.exception("answer task failed", extra={"conversation_id": answer.conversation_id})
    finally:
        with contextlib.suppress(Exception):
            await answers.untrack(answer)
        answer.finished.set()
