"""``answer.as_sent``: the one rule for a stored message on its way to a client."""

from __future__ import annotations

from chat_service.answer import as_sent

from services.chat_service.tests.lifecycle_fakes import placeholder


def test_a_streaming_message_goes_out_with_its_stored_checkpoint_unchanged() -> None:
    stored = {**placeholder(), "content": "Hello wor", "next_index": 3}
    assert as_sent(stored) is stored


def test_a_streaming_message_without_an_index_goes_out_as_the_empty_prefix() -> None:
    """Stored before the index was kept: its text reaches an unknown delta."""
    stored = {**placeholder(), "content": "checkpointed"}
    del stored["next_index"]
    assert as_sent(stored) == {**stored, "content": "", "next_index": 0}
    assert stored["content"] == "checkpointed"  # the stored message itself is left alone


def test_a_final_message_never_carries_an_index() -> None:
    final = {**placeholder(), "content": "done", "status": "interrupted"}
    assert "next_index" not in as_sent(final)
    user = {"id": "m1", "role": "user", "content": "hi", "status": "complete"}
    assert as_sent(user) is user
