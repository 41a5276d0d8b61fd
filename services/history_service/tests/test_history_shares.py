"""Share links: the snapshot's rules and the store of both backends (see conftest.py)."""

from __future__ import annotations

from history_service.models import (
    ConversationCreate,
    Feedback,
    MessageCreate,
)
from history_service.repository import HistoryRepository, create_shares_repository
from history_service.settings import HistorySettings
from history_service.shares import ShareCreate, make_share, readable, snapshot_of

A = "user-a"


async def test_snapshot_expiry_and_store(settings: HistorySettings,
                                         repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate(title="shared"))
    await repo.add_message(A, conv.id, MessageCreate(role="user", content="q",
                                                     client_message_id="cm-1"))
    answer, _ = await repo.add_message(A, conv.id, MessageCreate(role="assistant", content="a"))
    await repo.set_feedback(A, conv.id, answer.id, Feedback(rating="bad", comment="secret"))
    messages = await repo.list_messages(A, conv.id, None, 10)
    share = make_share(A, conv, messages, ShareCreate(expires_in=None))
    assert len(share.id) == 32 and share.message_count == 2
    text = repr(snapshot_of(share).messages)
    assert "secret" not in text and "cm-1" not in text
    assert readable(share) is share
    assert readable(share.model_copy(update={"expires_at": "2000-01-01T00:00:00.000Z"})) is None

    client = repo.inner.client if settings.mongodb_uri else None  # type: ignore[attr-defined]
    shares = create_shares_repository(settings, client)  # beside the history, as in the app
    await shares.open()
    try:
        await shares.add(share)
        stored = await shares.get(share.id)
        assert stored is not None and stored.snapshot == share.snapshot
        assert [s.id for s in await shares.list_for(A, conv.id)] == [share.id]
        assert await shares.list_for("user-b", conv.id) == []
        assert not await shares.delete("user-b", share.id)
        assert await shares.delete(A, share.id)
        assert await shares.get(share.id) is None
    finally:
        await shares.close()
