"""A streaming answer's checkpoints: its text and the delta index that text reaches, stored
together in every store (see conftest.py), and read back as ``next_index`` on ``streaming``
messages only. Stores written before the index was kept read fine."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from history_service.models import (
    ConversationCreate,
    MessageCreate,
    MessagePublic,
    MessageUpdate,
    TextUpdate,
)
from history_service.repository import HistoryRepository
from history_service.repository.sqlite import SCHEMA, SqliteHistoryRepository
from pydantic import ValidationError

A = "user-a"
OLD_TIME = "2026-01-01T00:00:00.000Z"


def placeholder() -> MessageCreate:
    return MessageCreate(role="assistant", content="", status="streaming")


def sent(message: MessagePublic) -> dict[str, object]:
    """The message's JSON, as the API sends it."""
    return message.model_dump(mode="json")


async def only(repo: HistoryRepository, cid: str) -> MessagePublic:
    [message] = await repo.list_messages(A, cid, None, 10)
    return message


async def test_a_checkpoint_stores_its_text_and_delta_index_together(
    repo: HistoryRepository,
) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    answer, _ = await repo.add_message(A, conv.id, placeholder())
    assert answer.next_index == 0  # the placeholder: nothing in it, the first delta is next
    assert sent(await only(repo, conv.id))["next_index"] == 0
    assert await repo.save_text(A, conv.id, answer.id, "Hello wor", 3)
    stored = await only(repo, conv.id)
    assert (stored.content, stored.next_index) == ("Hello wor", 3)
    assert sent(stored)["next_index"] == 3
    # every read of it carries the pair: the recovery sweep's and the tree's too
    [swept] = [m for m in await repo.list_streaming_messages(None, 100) if m.id == answer.id]
    assert (swept.content, swept.next_index) == ("Hello wor", 3)
    [node] = await repo.list_tree(A, conv.id, None, 10)
    assert (node.content, node.next_index) == ("Hello wor", 3)
    # a checkpoint without an index (a chat service of an earlier version): the earlier
    # index does not belong to this text, so none is sent
    assert await repo.save_text(A, conv.id, answer.id, "Hello world", None)
    stored = await only(repo, conv.id)
    assert stored.content == "Hello world" and stored.next_index is None
    assert "next_index" not in sent(stored)
    assert await repo.save_text(A, conv.id, answer.id, "Hello world!", 5)
    # final: never an index, whatever was stored
    done = await repo.update_message(A, conv.id, answer.id, MessageUpdate(
        content="Hello world!", status="complete", expect_status="streaming"))
    assert done.next_index is None and "next_index" not in sent(done)
    assert "next_index" not in sent(await only(repo, conv.id))
    assert not await repo.save_text(A, conv.id, answer.id, "late", 1)  # not streaming now
    assert (await only(repo, conv.id)).content == "Hello world!"


async def test_messages_that_never_stream_carry_no_index(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    await repo.add_message(A, conv.id, MessageCreate(role="user", content="hi"))
    await repo.add_message(A, conv.id, MessageCreate(role="assistant", content=""))
    for message in await repo.list_messages(A, conv.id, None, 10):
        assert "next_index" not in sent(message)


def test_a_checkpoint_whose_text_and_index_disagree_is_invalid() -> None:
    assert TextUpdate(content="ab", next_index=2).next_index == 2
    assert TextUpdate(content="", next_index=0).next_index == 0
    assert TextUpdate(content="ab").next_index is None  # unknown
    for content, index in (("ab", 0), ("", 1)):
        with pytest.raises(ValidationError):
            TextUpdate(content=content, next_index=index)
    with pytest.raises(ValidationError):
        TextUpdate(content="ab", next_index=-1)


async def test_an_earlier_sqlite_file_reads_and_checkpoints(tmp_path: Path) -> None:
    """A file written before the index was kept: the column is added on open; a streaming
    message's stored text reaches an unknown delta (no index), an empty one reaches 0."""
    path = tmp_path / "old.sqlite3"
    old_schema = SCHEMA.replace("    next_index INTEGER,\n", "")
    assert old_schema != SCHEMA
    db = sqlite3.connect(path)
    db.executescript(old_schema)
    db.execute("INSERT INTO conversations (id, user_id, title, created_at, updated_at,"
               " message_count) VALUES ('c1', ?, 't', ?, ?, 2)", (A, OLD_TIME, OLD_TIME))
    for seq, content in ((1, "checkpointed text"), (2, "")):
        db.execute(
            "INSERT INTO messages (id, conversation_id, user_id, seq, role, content, status,"
            " created_at, updated_at) VALUES (?, 'c1', ?, ?, 'assistant', ?, 'streaming', ?, ?)",
            (f"m{seq}", A, seq, content, OLD_TIME, OLD_TIME),
        )
    db.commit()
    db.close()
    repo = SqliteHistoryRepository(path)
    await repo.open()
    try:
        old, empty = await repo.list_messages(A, "c1", None, 10)
        assert (old.content, old.next_index) == ("checkpointed text", None)
        assert "next_index" not in sent(old)
        assert (empty.content, empty.next_index) == ("", 0)
        assert await repo.save_text(A, "c1", "m1", "checkpointed text and more", 7)
        assert (await repo.list_messages(A, "c1", None, 10))[0].next_index == 7
    finally:
        await repo.close()


async def test_processes_opening_an_earlier_sqlite_file_at_once_all_start(
    tmp_path: Path,
) -> None:
    """The column is added once, whoever opens first: the others find it (seen failing,
    'duplicate column name: next_index', while the columns were added outside a transaction)."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")  # as the store leaves its file
    db.executescript(SCHEMA.replace("    next_index INTEGER,\n", ""))
    db.commit()
    db.close()
    repos = [SqliteHistoryRepository(path) for _ in range(3)]
    try:
        await asyncio.gather(*(r.open() for r in repos))
        conv = await repos[0].create_conversation(A, ConversationCreate())
        answer, _ = await repos[1].add_message(A, conv.id, placeholder())
        assert await repos[2].save_text(A, conv.id, answer.id, "one", 1)
        assert (await only(repos[0], conv.id)).next_index == 1
    finally:
        for r in repos:
            await r.close()


@pytest.mark.mongo
async def test_earlier_mongodb_documents_read_and_checkpoint(mongo_repo: HistoryRepository) -> None:
    """Documents stored before the index was kept (no ``next_index`` field) read as in
    SQLite: unknown for text, 0 for none."""
    repo, inner = mongo_repo, mongo_repo.inner  # type: ignore[attr-defined]
    conv = await repo.create_conversation(A, ConversationCreate(title="old"))
    for seq, content in ((1, "checkpointed text"), (2, "")):
        await inner.messages.insert_one({
            "_id": f"m{seq}", "conversation_id": conv.id, "user_id": A, "seq": seq,
            "role": "assistant", "content": content, "status": "streaming", "model": None,
            "usage": None, "client_message_id": None, "cmid": f"m:m{seq}",
            "parent_id": f"m{seq - 1}" if seq > 1 else None, "active": True,
            "created_at": OLD_TIME, "updated_at": OLD_TIME,
        })
    await inner.conversations.update_one(
        {"_id": conv.id}, {"$set": {"last_seq": 2, "message_count": 2}})
    old, empty = await repo.list_messages(A, conv.id, None, 10)
    assert (old.content, old.next_index) == ("checkpointed text", None)
    assert "next_index" not in sent(old)
    assert (empty.content, empty.next_index) == ("", 0)
    assert await repo.save_text(A, conv.id, "m1", "checkpointed text and more", 7)
    assert (await repo.list_messages(A, conv.id, None, 10))[0].next_index == 7
