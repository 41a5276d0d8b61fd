"""Answers left ``streaming`` by a crash (no live answer anywhere) end as ``interrupted``."""

from __future__ import annotations

import asyncio
import logging
import random

from chatbot_common.errors import ChatbotError

from .registry import AnswerRegistry

log = logging.getLogger(__name__)

BATCH = 100
MAX_BACKOFF = 30.0


async def sweep(answers: AnswerRegistry, started_before: str) -> None:
    """At start-up: interrupt every streaming message older than this process.

    Retries with capped, jittered back-off until the history service answers.
    """
    delay = 0.5  # TODO(#18b): chatbot_common.backoff once it lands
    while True:
        try:
            count = await _sweep_once(answers, started_before)
        except ChatbotError as exc:
            log.info("recovery sweep postponed", extra={"error": exc.message, "retry_in": delay})
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, MAX_BACKOFF)
            continue
        if count:
            log.info("interrupted %d answer(s) left streaming", count)
        return


async def _sweep_once(answers: AnswerRegistry, started_before: str) -> int:
    count = 0
    for _ in range(1000):
        batch = await answers.ports.history.streaming_messages(started_before, BATCH)
        progressed = False
        for message in batch:
            user_id = message.get("user_id")
            if not isinstance(user_id, str):
                log.warning("streaming message without user_id; cannot interrupt it")
                continue
            if await answers.overlay(message) is not None:
                continue
            await answers.interrupt_orphan(user_id, message)
            progressed = True
            count += 1
        if len(batch) < BATCH or not progressed:
            return count
    return count
