"""Answers left ``streaming`` by a crash (no live answer anywhere) end as ``interrupted``."""

from __future__ import annotations

import logging

from chatbot_common.backoff import Backoff
from chatbot_common.errors import ChatbotError

from .registry import AnswerRegistry

log = logging.getLogger(__name__)

BATCH = 100
RETRY = Backoff(base=0.5, floor=0.5)  # until the history service answers


async def sweep(answers: AnswerRegistry, started_before: str) -> None:
    """At start-up: interrupt every streaming message older than this process.

    Retries with capped, jittered back-off until the history service answers.
    """
    attempt = 0
    while True:
        try:
            count = await _sweep_once(answers, started_before)
        except ChatbotError as exc:
            log.info("recovery sweep postponed", extra={"error": exc.message})
            await RETRY.sleep(attempt)
            attempt += 1
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
            if await answers.interrupt_orphan(user_id, message) is None:
                continue  # left as it is (Redis cannot tell): not progress, no busy loop
            progressed = True
            count += 1
        if len(batch) < BATCH or not progressed:
            return count
    return count
