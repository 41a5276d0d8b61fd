"""Answers left ``streaming`` by a crash (no live answer anywhere) end as ``interrupted``."""

from __future__ import annotations

import asyncio
import logging
import random

from chatbot_common.errors import ChatbotError

from .answers import AnswerManager
from .takeover import interrupt_orphan

log = logging.getLogger(__name__)

BATCH = 100
MAX_BACKOFF = 30.0


async def sweep(answers: AnswerManager, started_before: str) -> None:
    """At start-up: interrupt every streaming message older than this process.

    Retries with capped, jittered back-off until the history service answers.
    """
    delay = 0.5
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


async def _sweep_once(answers: AnswerManager, started_before: str) -> int:
    count = 0
    for _ in range(1000):
        batch = await answers.history.streaming_messages(started_before, BATCH)
        progressed = False
        for message in batch:
            user_id = message.get("user_id")
            if not isinstance(user_id, str):
                log.warning("streaming message without user_id; cannot interrupt it")
                continue
            if await answers.overlay(message) is not None:
                continue
            if await interrupt_orphan(answers, user_id, message) is None:
                continue  # left as it is (Redis cannot tell): not progress, no busy loop
            progressed = True
            count += 1
        if len(batch) < BATCH or not progressed:
            return count
    return count
