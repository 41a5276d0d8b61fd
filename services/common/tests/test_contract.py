"""The contract's types: ids, times, statuses, and the internal end of an answer."""

from __future__ import annotations

import re

import pytest
from chatbot_common.contract import (
    AnswerEnd,
    Message,
    MessageStatus,
    Role,
    new_id,
    now_iso,
    valid_id,
)

from tests.support.contract import MESSAGE_STATUSES


def test_ids() -> None:
    made = new_id()
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert valid_id(made) and valid_id("a") and valid_id("A_b-9" * 12)
    for bad in ("", "a" * 65, '{"$ne": null}', "../x", "a b", "a.b", "ä"):
        assert not valid_id(bad), bad


def test_now_iso_sorts_as_time() -> None:
    first = now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first)
    assert now_iso() >= first


def test_statuses_are_the_contracts() -> None:
    assert {s.value for s in MessageStatus} == MESSAGE_STATUSES
    assert [s for s in MessageStatus if not s.final] == [MessageStatus.STREAMING]
    assert MessageStatus.STREAMING == "streaming"  # a StrEnum: JSON on the wire is unchanged


@pytest.mark.parametrize("end", list(AnswerEnd))
def test_an_answer_end_stores_a_final_status_or_nothing(end: AnswerEnd) -> None:
    if end in (AnswerEnd.HANDOVER, AnswerEnd.ABANDONED):
        assert end.status is None  # internal: never reaches the contract
    else:
        assert end.status is not None and end.status.final
        assert end.status.value == end.value


def test_message_round_trips_json_unchanged() -> None:
    wire = (
        '{"id":"m1","conversation_id":"c1","seq":2,"role":"assistant","content":"hi",'
        '"status":"streaming","created_at":"2026-11-25T10:00:00.123Z","model":null,'
        '"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3},'
        '"client_message_id":null,"parent_id":"m0","versions":null,'
        '"feedback":{"rating":"bad","comment":"too short"},"files":null}'
    )
    message = Message.model_validate_json(wire)
    assert message.role is Role.ASSISTANT and message.status is MessageStatus.STREAMING
    assert message.model_dump_json() == wire
    with pytest.raises(ValueError, match="status"):
        Message.model_validate_json(wire.replace('"streaming"', '"handover"'))
