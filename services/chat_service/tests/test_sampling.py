"""A conversation's sampling settings: the operator's bounds, and every answer asked with them
(a new one, and one continued after a take-over). Registry and runs are real, history, the LLM
service and Redis the fakes of ``lifecycle_fakes``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from chat_service.live import LiveAnswer
from chat_service.sampling import Sampling, checked, request_fields
from chat_service.settings import Settings
from chatbot_common.errors import InvalidError

from services.chat_service.tests.lifecycle_fakes import (
    CID,
    HARNESSES,
    QUESTION,
    USER,
    Harness,
    ended,
    placeholder,
)

SAMPLING = {"temperature": 0.3, "top_p": 0.9, "max_tokens": 64}


@pytest.fixture(autouse=True)
async def _no_answer_left_running() -> AsyncIterator[None]:
    yield
    while HARNESSES:
        await HARNESSES.pop().cancel_running()


def test_bounds_are_the_operators() -> None:
    settings = Settings(LLM_MAX_TOKENS_CAP=100, LLM_TEMPERATURE_MAX=1.5)  # type: ignore[call-arg]
    assert checked(Sampling(temperature=1, max_tokens=100), settings) == {
        "temperature": 1.0, "top_p": None, "max_tokens": 100}
    for bad in (Sampling(temperature=1.6), Sampling(max_tokens=101), Sampling(top_p=0.01)):
        with pytest.raises(InvalidError):
            checked(bad, settings)
    assert request_fields({"temperature": 0.5, "top_p": None}) == {"temperature": 0.5}
    assert request_fields(None) == {}


async def test_a_new_answer_is_asked_with_the_conversations_sampling() -> None:
    h = Harness()
    h.history.messages["m2"] = placeholder()
    answer = await h.registry.start(
        USER, {"id": CID, "system_prompt": "be brief", "sampling": SAMPLING}, "fake",
        prepared=([dict(QUESTION)], placeholder()))
    h.llm.say("ok")
    h.llm.end()
    await ended(answer)
    assert h.llm.sampling == [SAMPLING]


async def test_a_continued_answer_keeps_them() -> None:
    h = Harness()
    h.history.sampling = SAMPLING  # type: ignore[attr-defined]
    h.history.messages["m2"] = placeholder()
    h.shared.orphaned[CID] = LiveAnswer(CID, "m2", USER, "me", ["Echo:"])
    await h.registry.take_over_orphans()
    answer = h.registry.in_flight(CID)
    assert answer is not None
    h.llm.say(" w1")
    h.llm.end()
    await ended(answer)
    assert h.llm.sampling == [SAMPLING]
