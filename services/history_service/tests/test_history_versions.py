"""Message versions (the tree) and feedback, run against every store (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from chatbot_common.errors import InvalidError, NotFoundError
from history_service.models import (
    ConversationCreate,
    Feedback,
    MessageCreate,
    MessagePublic,
)
from history_service.repository import HistoryRepository

A, B = "user-a", "user-b"


def user(content: str, cmid: str | None = None) -> MessageCreate:
    return MessageCreate(role="user", content=content, client_message_id=cmid)


def answer(content: str) -> MessageCreate:
    return MessageCreate(role="assistant", content=content)


async def four(repo: HistoryRepository) -> tuple[str, list[MessagePublic]]:
    """A conversation of four messages: u1, a1, u2, a2."""
    conv = await repo.create_conversation(A, ConversationCreate(title="t"))
    stored = []
    for m in (user("u1", "c1"), answer("a1"), user("u2", "c2"), answer("a2")):
        stored.append((await repo.add_message(A, conv.id, m))[0])
    return conv.id, stored


async def test_each_message_knows_its_parent(repo: HistoryRepository) -> None:
    cid, stored = await four(repo)
    assert [m.parent_id for m in stored] == [None, *(m.id for m in stored[:3])]
    listed = await repo.list_messages(A, cid, None, 200)
    assert [m.parent_id for m in listed] == [m.parent_id for m in stored]
    assert all(m.versions is None for m in listed)


async def test_edit_continues_from_there_and_keeps_the_old_version(
    repo: HistoryRepository,
) -> None:
    cid, (_u1, a1, u2, _a2) = await four(repo)
    # Edit the second user message (the third of four): a sibling of it, after a1.
    edited, created = await repo.edit_message(A, cid, u2.id, user("u2 edited", "c3"))
    assert created
    assert edited.parent_id == a1.id
    assert edited.seq == 5  # seq numbers every message of every branch, in order stored
    answer2, _ = await repo.add_message(A, cid, answer("a2 new"))
    assert answer2.parent_id == edited.id

    listed = await repo.list_messages(A, cid, None, 200)
    assert [m.content for m in listed] == ["u1", "a1", "u2 edited", "a2 new"]
    assert listed[2].versions == [u2.id, edited.id]
    assert listed[0].versions is None and listed[3].versions is None
    assert (await repo.get_conversation(A, cid)).message_count == 4
    # Paging over the active branch works with after_seq as before.
    page = await repo.list_messages(A, cid, a1.seq, 1)
    assert [m.id for m in page] == [edited.id]

    # Back to the old version: its own continuation comes back.
    conv = await repo.select_branch(A, cid, u2.id)
    assert conv.message_count == 4
    listed = await repo.list_messages(A, cid, None, 200)
    assert [m.content for m in listed] == ["u1", "a1", "u2", "a2"]
    assert listed[2].versions == [u2.id, edited.id]
    # And forward again.
    await repo.select_branch(A, cid, edited.id)
    assert [m.content for m in await repo.list_messages(A, cid, None, 200)] == [
        "u1", "a1", "u2 edited", "a2 new"]

    # The whole tree (exports): every message of every branch, which are shown.
    tree = await repo.list_tree(A, cid, None, 100)
    assert [(m.content, m.active) for m in tree] == [
        ("u1", True), ("a1", True), ("u2", False), ("a2", False), ("u2 edited", True),
        ("a2 new", True)]
    assert [m.seq for m in await repo.list_tree(A, cid, 4, 1)] == [5]


async def test_edit_the_first_message_and_send_after_switching(repo: HistoryRepository) -> None:
    cid, (u1, a1, _u2, a2) = await four(repo)
    first, _ = await repo.edit_message(A, cid, u1.id, user("u1 again"))
    assert first.parent_id is None
    assert (await repo.get_conversation(A, cid)).message_count == 1
    listed = await repo.list_messages(A, cid, None, 200)
    assert [m.content for m in listed] == ["u1 again"]
    assert listed[0].versions == [u1.id, first.id]
    # Back on the old branch, a new message continues it (its parent: a2).
    await repo.select_branch(A, cid, a1.id)
    follow, _ = await repo.add_message(A, cid, user("u3"))
    assert follow.parent_id == a2.id
    assert [m.content for m in await repo.list_messages(A, cid, None, 200)] == [
        "u1", "a1", "u2", "a2", "u3"]
    # Regenerate-style delete of an answer keeps the count of the active branch.
    await repo.delete_message(A, cid, a2.id)
    assert (await repo.get_conversation(A, cid)).message_count == 4


async def test_edit_is_idempotent_and_checked(repo: HistoryRepository) -> None:
    cid, (_u1, a1, u2, _a2) = await four(repo)
    first, created = await repo.edit_message(A, cid, u2.id, user("v2", "edit-1"))
    again, created_again = await repo.edit_message(A, cid, u2.id, user("v2", "edit-1"))
    assert created and not created_again
    assert again.id == first.id
    assert len(await repo.list_tree(A, cid, None, 100)) == 5
    with pytest.raises(InvalidError):  # answers are not edited
        await repo.edit_message(A, cid, a1.id, user("x"))
    with pytest.raises(InvalidError):  # off the active branch
        await repo.edit_message(A, cid, u2.id, user("x"))
    with pytest.raises(NotFoundError):  # another user's conversation
        await repo.edit_message(B, cid, first.id, user("x"))
    with pytest.raises(NotFoundError):
        await repo.select_branch(B, cid, u2.id)
    with pytest.raises(NotFoundError):
        await repo.select_branch(A, cid, "0" * 32)
    with pytest.raises(NotFoundError):
        await repo.list_tree(B, cid, None, 10)


async def test_feedback_is_stored_with_the_answer(repo: HistoryRepository) -> None:
    cid, (u1, a1, _, _) = await four(repo)
    rated = await repo.set_feedback(A, cid, a1.id, Feedback(rating="bad", comment="Wrong city"))
    assert rated.feedback == Feedback(rating="bad", comment="Wrong city")
    listed = await repo.list_messages(A, cid, None, 200)
    assert listed[1].feedback == Feedback(rating="bad", comment="Wrong city")
    cleared = await repo.set_feedback(A, cid, a1.id, None)
    assert cleared.feedback is None
    assert (await repo.list_messages(A, cid, None, 200))[1].feedback is None
    with pytest.raises(InvalidError):
        await repo.set_feedback(A, cid, u1.id, Feedback(rating="good"))
    with pytest.raises(NotFoundError):
        await repo.set_feedback(B, cid, a1.id, Feedback(rating="good"))


async def test_an_earlier_sqlite_file_gets_parents(tmp_path: object) -> None:
    """A file written before versions existed: its messages form one line after the upgrade."""
    import sqlite3

    from history_service.repository.sqlite import SCHEMA, SqliteHistoryRepository

    path = Path(str(tmp_path)) / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO conversations (id, user_id, title, created_at, updated_at,"
               " message_count) VALUES ('c1', ?, 't', 'x', 'x', 3)", (A,))
    for seq in (1, 2, 3):
        db.execute(
            "INSERT INTO messages (id, conversation_id, user_id, seq, role, content, status,"
            " created_at, updated_at) VALUES (?, 'c1', ?, ?, 'user', ?, 'complete', 'x', 'x')",
            (f"m{seq}", A, seq, f"text {seq}"),
        )
    db.commit()
    db.close()
    repo = SqliteHistoryRepository(path)
    await repo.open()
    try:
        listed = await repo.list_messages(A, "c1", None, 10)
        assert [m.parent_id for m in listed] == [None, "m1", "m2"]
        edited, _ = await repo.edit_message(A, "c1", "m2", user("again"))
        assert edited.parent_id == "m1"
        assert [m.content for m in await repo.list_messages(A, "c1", None, 10)] == [
            "text 1", "again"]
    finally:
        await repo.close()


@pytest.mark.mongo
async def test_earlier_mongodb_documents_get_parents(mongo_repo: HistoryRepository) -> None:
    """Documents stored before versions existed (no parent_id, no active): one line, filled
    in at the conversation's first edit."""
    repo, inner = mongo_repo, mongo_repo.inner  # type: ignore[attr-defined]
    conv = await repo.create_conversation(A, ConversationCreate(title="old"))
    for seq in (1, 2, 3):
        await inner.messages.insert_one({
            "_id": f"m{seq}", "conversation_id": conv.id, "user_id": A, "seq": seq,
            "role": "user", "content": f"text {seq}", "status": "complete", "model": None,
            "usage": None, "client_message_id": None, "cmid": f"m:m{seq}",
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
        })
    await inner.conversations.update_one(
        {"_id": conv.id}, {"$set": {"last_seq": 3, "message_count": 3}})
    listed = await repo.list_messages(A, conv.id, None, 10)
    assert [m.content for m in listed] == ["text 1", "text 2", "text 3"]
    assert all(m.versions is None for m in listed)
    edited, _ = await repo.edit_message(A, conv.id, "m2", user("again"))
    assert edited.parent_id == "m1"
    listed = await repo.list_messages(A, conv.id, None, 10)
    assert [m.content for m in listed] == ["text 1", "again"]
    assert listed[1].versions == ["m2", edited.id]
    await repo.select_branch(A, conv.id, "m2")
    assert [m.content for m in await repo.list_messages(A, conv.id, None, 10)] == [
        "text 1", "text 2", "text 3"]
