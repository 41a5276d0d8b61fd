"""The rules that live in the models (every store only reads and writes what they decide)."""

from __future__ import annotations

import pytest
from chatbot_common.contract import MessageStatus, valid_id
from chatbot_common.errors import ConflictError, InvalidError
from history_service.models import (
    DEFAULT_TITLE,
    ConversationCreate,
    ConversationUpdate,
    MessageCreate,
    MessageUpdate,
)


def test_a_new_conversation_has_an_id_a_time_and_a_title() -> None:
    conv = ConversationCreate(system_prompt="Be brief.").new()
    assert valid_id(conv.id) and len(conv.id) == 32
    assert conv.title == DEFAULT_TITLE and conv.message_count == 0
    assert conv.created_at == conv.updated_at and conv.created_at.endswith("Z")
    assert ConversationCreate(title="Mine").new().title == "Mine"


def test_a_rename_to_null_keeps_the_title() -> None:
    assert ConversationUpdate.model_validate({"title": None, "model": None}).changes() == {
        "model": None
    }
    assert ConversationUpdate(title="New").changes() == {"title": "New"}
    assert ConversationUpdate().changes() == {}


def test_a_message_update_sets_what_was_sent() -> None:
    update = MessageUpdate.model_validate(
        {"content": "x", "status": None, "usage": None, "model": None, "expect_status": "streaming"}
    )
    # new content reaches no known delta index: a checkpoint's index is cleared with it
    assert update.changes() == {"content": "x", "usage": None, "model": None, "next_index": None}
    assert MessageUpdate.model_validate({"status": "complete"}).changes() == {
        "status": MessageStatus.COMPLETE
    }


def test_expect_status_makes_finalising_happen_once() -> None:
    update = MessageUpdate.model_validate({"status": "complete", "expect_status": "streaming"})
    assert update.allows(MessageStatus.STREAMING)
    assert not update.allows(MessageStatus.COMPLETE)
    conflict = update.conflict(MessageStatus.COMPLETE)
    assert isinstance(conflict, ConflictError)
    assert conflict.message == "the message is complete, not streaming"
    assert MessageUpdate(content="x").allows(MessageStatus.ERROR)


def test_a_repeat_belongs_to_its_conversation() -> None:
    send = MessageCreate.model_validate({"role": "user", "content": "hi", "client_message_id": "k"})
    stored = send.new("c1", seq=3)
    assert (stored.seq, stored.conversation_id, stored.client_message_id) == (3, "c1", "k")
    assert send.repeat(stored, "c1") is stored
    with pytest.raises(InvalidError, match="another conversation"):
        send.repeat(stored, "c2")
