"""The files store's contract, and files and sampling on conversations, on every store."""

from __future__ import annotations

import pytest
from chatbot_common.contract import FileRef, Sampling, new_id, now_iso
from chatbot_common.errors import NotFoundError, TooLargeError
from history_service.files import FileDetail, extract_text, sniff
from history_service.models import ConversationCreate, ConversationUpdate, MessageCreate
from history_service.repository import FilesRepository, HistoryRepository

A, B = "user-a", "user-b"
LIMIT = 10 << 20


def detail(conversation_id: str, data: bytes, name: str = "notes.md") -> FileDetail:
    kind, media_type = sniff(name, data)
    text = extract_text(media_type, data, 1000) if kind == "document" else None
    return FileDetail(
        id=new_id(), conversation_id=conversation_id, name=name, media_type=media_type,
        size=len(data), kind=kind, created_at=now_iso(), text=text,
        text_chars=len(text) if text is not None else None,
    )


async def test_files_are_stored_read_and_isolated(
    repo: HistoryRepository, files: FilesRepository
) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    data = b"# Notes\n\nThe launch code is 4711.\n"
    stored = await files.add_file(A, detail(conv.id, data), data, LIMIT)
    assert (stored.kind, stored.media_type, stored.size) == ("document", "text/markdown", len(data))
    found = await files.get_file(A, stored.id)
    assert found.text is not None and "4711" in found.text
    meta, content = await files.read_data(A, stored.id)
    assert content == data and meta.id == stored.id
    assert [f.id for f in await files.list_files(A, conv.id)] == [stored.id]
    assert await files.user_bytes(A) == len(data)
    # Another user sees nothing of it, by id or by conversation, and cannot delete it.
    for call in (files.get_file(B, stored.id), files.read_data(B, stored.id),
                 files.delete_file(B, stored.id)):
        with pytest.raises(NotFoundError):
            await call
    assert await files.list_files(B, conv.id) == []
    with pytest.raises(NotFoundError):  # nor store one in A's conversation
        await files.add_file(B, detail(conv.id, data), data, LIMIT)
    await files.delete_file(A, stored.id)
    with pytest.raises(NotFoundError):
        await files.get_file(A, stored.id)
    assert await files.user_bytes(A) == 0


async def test_a_large_image_round_trips_in_chunks(
    repo: HistoryRepository, files: FilesRepository
) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10_000  # 2.5 MB: three chunks in MongoDB
    stored = await files.add_file(A, detail(conv.id, data, "photo.png"), data, LIMIT)
    assert (stored.kind, stored.media_type) == ("image", "image/png")
    _, content = await files.read_data(A, stored.id)
    assert content == data


async def test_the_user_limit_stores_nothing_beyond(
    repo: HistoryRepository, files: FilesRepository
) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    first = b"a" * 600
    await files.add_file(A, detail(conv.id, first, "a.txt"), first, 1000)
    second = b"b" * 600
    with pytest.raises(TooLargeError):
        await files.add_file(A, detail(conv.id, second, "b.txt"), second, 1000)
    assert [f.name for f in await files.list_files(A, conv.id)] == ["a.txt"]
    assert await files.user_bytes(A) == 600
    # Another user's allowance is their own.
    other = await repo.create_conversation(B, ConversationCreate())
    await files.add_file(B, detail(other.id, second, "b.txt"), second, 1000)


async def test_files_go_with_their_conversation(
    repo: HistoryRepository, files: FilesRepository
) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    kept = await repo.create_conversation(A, ConversationCreate())
    data = b"x,y\n1,2\n"
    gone = await files.add_file(A, detail(conv.id, data, "t.csv"), data, LIMIT)
    stays = await files.add_file(A, detail(kept.id, data, "t.csv"), data, LIMIT)
    await repo.delete_conversation(A, conv.id)
    await files.delete_conversation_files(A, conv.id)  # what the route does after it
    with pytest.raises(NotFoundError):
        await files.read_data(A, gone.id)
    assert await files.list_files(A, conv.id) == []
    assert (await files.get_file(A, stays.id)).name == "t.csv"
    assert await files.user_bytes(A) == len(data)


async def test_messages_name_their_files_and_conversations_keep_sampling(
    repo: HistoryRepository,
) -> None:
    sampling = Sampling(temperature=0.3, top_p=0.9, max_tokens=256)
    conv = await repo.create_conversation(A, ConversationCreate(sampling=sampling))
    assert (await repo.get_conversation(A, conv.id)).sampling == sampling
    changed = await repo.update_conversation(
        A, conv.id, ConversationUpdate(sampling=Sampling(temperature=1.2))
    )
    assert changed.sampling == Sampling(temperature=1.2)
    assert (await repo.update_conversation(A, conv.id, ConversationUpdate(title="t"))).sampling
    ref = FileRef(id=new_id(), name="a.pdf", media_type="application/pdf", size=9, kind="document")
    message, _ = await repo.add_message(
        A, conv.id, MessageCreate(role="user", content="see the file", files=[ref])
    )
    assert message.files == [ref]
    listed = await repo.list_messages(A, conv.id, None, 10)
    assert listed[0].files == [ref]
    plain, _ = await repo.add_message(A, conv.id, MessageCreate(role="user", content="no file"))
    assert plain.files is None
