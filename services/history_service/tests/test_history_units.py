"""Unit tests of small pieces: retry policy, limits, input models."""

from __future__ import annotations

import pytest
from chatbot_common.contract import valid_id
from chatbot_common.errors import TooLargeError, UnavailableError
from history_service.api.limits import check_conversation, check_message
from history_service.models import ConversationCreate, MessageCreate, MessageUpdate
from history_service.repository._common import regex_pattern
from history_service.repository._retry import RetryPolicy
from history_service.settings import HistorySettings
from pydantic import ValidationError


class Flaky(Exception):
    pass


async def test_retry_gives_up_after_the_attempts_as_unavailable() -> None:
    calls = 0

    async def always_fails() -> None:
        nonlocal calls
        calls += 1
        raise Flaky

    with pytest.raises(UnavailableError) as info:
        await RetryPolicy(attempts=3, base_delay=0).run("op", always_fails, (Flaky,))
    assert calls == 3
    assert isinstance(info.value.__cause__, Flaky)


async def test_retry_returns_once_the_call_succeeds_and_passes_other_errors() -> None:
    outcomes: list[Exception | str] = [Flaky(), Flaky(), "ok"]

    async def call() -> str:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert await RetryPolicy(attempts=3, base_delay=0).run("op", call, (Flaky,)) == "ok"

    async def broken() -> None:
        raise KeyError("not transient")

    with pytest.raises(KeyError):
        await RetryPolicy(attempts=3, base_delay=0).run("op", broken, (Flaky,))


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.1, max_delay=0.5)
    delays = [policy.delay(attempt) for attempt in range(10) for _ in range(20)]
    assert all(0 <= d <= 0.5 for d in delays)
    assert len(set(delays)) > 20


def test_limits_come_from_settings() -> None:
    settings = HistorySettings(MAX_CONTENT_CHARS=10, MAX_TITLE_CHARS=5)  # type: ignore[call-arg]
    check_message(MessageCreate(role="user", content="x" * 10), settings)
    with pytest.raises(TooLargeError):
        check_message(MessageCreate(role="user", content="x" * 11), settings)
    with pytest.raises(TooLargeError):
        check_message(MessageUpdate(content="x" * 11), settings)
    with pytest.raises(TooLargeError):
        check_conversation(ConversationCreate(title="123456"), settings)


@pytest.mark.parametrize(
    "body",
    [
        {"role": "user", "content": {"$ne": None}},
        {"role": "user", "content": "x", "client_message_id": {"$gt": ""}},
        {
            "role": "user",
            "content": "x",
            "usage": {"prompt_tokens": "1", "completion_tokens": 1, "total_tokens": 2},
        },
        {"role": "user", "content": "x", "client_message_id": "a b"},
    ],
)
def test_message_bodies_are_strict(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MessageCreate.model_validate(body)


def test_ids_and_patterns() -> None:
    assert valid_id("0123456789abcdef0123456789abcdef")
    assert not valid_id('{"$ne": null}') and not valid_id("") and not valid_id("a" * 65)
    assert regex_pattern("a.b*(c)") == "a\\.b\\*\\(c\\)"
