import pytest
from chat_service.acks import error_ack
from chat_service.schemas import (
    ConversationGet,
    ConversationList,
    MessageSend,
    check_text,
    parse,
)
from chatbot_common.errors import ConflictError, InvalidError, NotFoundError, TooLargeError
from pydantic import ValidationError

GOOD_SEND = {"conversation_id": "a" * 32, "client_message_id": "c-1", "content": "hi"}


def test_a_good_send_parses() -> None:
    assert parse(MessageSend, GOOD_SEND).content == "hi"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        [1, 2],
        {**GOOD_SEND, "conversation_id": {"$ne": None}},
        {**GOOD_SEND, "conversation_id": "../etc"},
        {**GOOD_SEND, "content": 5},
        {**GOOD_SEND, "content": ["a"]},
        {**GOOD_SEND, "client_message_id": ""},
        {**GOOD_SEND, "extra": 1},
        {"conversation_id": "a" * 32, "content": "x"},
    ],
)
def test_malformed_sends_are_refused(payload: object) -> None:
    with pytest.raises(ValidationError) as info:
        parse(MessageSend, payload)
    ack, code = error_ack(info.value, "message.send")
    assert code == "invalid"
    assert ack["ok"] is False and ack["error"]["code"] == "invalid"
    assert ack["error"]["message"]


def test_numbers_are_not_coerced() -> None:
    with pytest.raises(ValidationError):
        parse(ConversationGet, {"conversation_id": "abc", "limit": "5"})
    with pytest.raises(ValidationError):
        parse(ConversationList, {"limit": True})
    with pytest.raises(ValidationError):
        parse(ConversationList, {"limit": 0})
    assert parse(ConversationList, None).limit is None


def test_limits() -> None:
    check_text("content", "x" * 10, 10, required=True)
    with pytest.raises(TooLargeError):
        check_text("content", "x" * 11, 10, required=True, too_long=TooLargeError)
    with pytest.raises(InvalidError):
        check_text("title", "x" * 11, 10)
    with pytest.raises(InvalidError):
        check_text("content", "  \n", 10, required=True)
    check_text("title", "", 10)


def test_error_translation() -> None:
    ack, code = error_ack(NotFoundError("no such conversation"), "conversation.get")
    assert (code, ack) == (
        "not_found",
        {"ok": False, "error": {"code": "not_found", "message": "no such conversation"}},
    )
    ack, code = error_ack(ConflictError("moved"), "message.send")
    assert code == "unavailable" and ack["error"]["code"] == "unavailable"
    ack, code = error_ack(KeyError("boom"), "message.send")
    assert code == "unavailable"
    assert "boom" not in ack["error"]["message"]
