"""The repository contract, run against every store (see conftest.py)."""

from __future__ import annotations

import asyncio

import pytest
from chatbot_common.errors import ConflictError, InvalidError, NotFoundError
from history_service.models import (
    ConversationCreate,
    ConversationUpdate,
    MessageCreate,
    MessageUpdate,
    Usage,
)
from history_service.repository import HistoryRepository

A, B = "user-a", "user-b"


def user_msg(content: str, client_id: str | None = None) -> MessageCreate:
    return MessageCreate(role="user", content=content, client_message_id=client_id)


async def test_conversation_crud(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate(system_prompt="Be brief."))
    assert len(conv.id) == 32
    assert conv.title == "New conversation"
    assert conv.message_count == 0
    assert conv.created_at == conv.updated_at
    assert conv.created_at.endswith("Z")
    assert await repo.get_conversation(A, conv.id) == conv

    renamed = await repo.update_conversation(A, conv.id, ConversationUpdate(title="Renamed"))
    assert renamed.title == "Renamed"
    assert renamed.system_prompt == "Be brief."
    assert (await repo.get_conversation(A, conv.id)).title == "Renamed"

    await repo.delete_conversation(A, conv.id)
    with pytest.raises(NotFoundError):
        await repo.get_conversation(A, conv.id)
    with pytest.raises(NotFoundError):
        await repo.delete_conversation(A, conv.id)


async def test_messages_in_order_and_counted(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate(title="t"))
    stored = []
    for i in range(5):
        msg, created = await repo.add_message(A, conv.id, user_msg(f"m{i}"))
        assert created
        stored.append(msg)
    assert [m.seq for m in stored] == [1, 2, 3, 4, 5]
    listed = await repo.list_messages(A, conv.id, None, 200)
    assert [m.content for m in listed] == ["m0", "m1", "m2", "m3", "m4"]
    assert listed == stored
    after = await repo.get_conversation(A, conv.id)
    assert after.message_count == 5
    assert after.updated_at >= stored[-1].created_at


async def test_message_pagination(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    for i in range(12):
        await repo.add_message(A, conv.id, user_msg(f"m{i}"))
    last3 = await repo.list_messages(A, conv.id, None, 3)
    assert [m.seq for m in last3] == [10, 11, 12]
    page = await repo.list_messages(A, conv.id, 4, 5)
    assert [m.seq for m in page] == [5, 6, 7, 8, 9]
    assert await repo.list_messages(A, conv.id, 12, 5) == []


async def test_concurrent_sends_get_gapless_seq(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    results = await asyncio.gather(
        *(repo.add_message(A, conv.id, user_msg(f"m{i}")) for i in range(50))
    )
    assert sorted(m.seq for m, _ in results) == list(range(1, 51))
    assert all(created for _, created in results)
    assert [m.seq for m in await repo.list_messages(A, conv.id, None, 1000)] == list(range(1, 51))
    assert (await repo.get_conversation(A, conv.id)).message_count == 50


async def test_two_replicas_share_one_gapless_sequence(
    repo: HistoryRepository, second_replica: HistoryRepository
) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    results = await asyncio.gather(
        *(
            (repo if i % 2 else second_replica).add_message(A, conv.id, user_msg(f"m{i}"))
            for i in range(40)
        )
    )
    assert sorted(m.seq for m, _ in results) == list(range(1, 41))
    assert [m.seq for m in await repo.list_messages(A, conv.id, 0, 1000)] == list(range(1, 41))


async def test_send_is_idempotent_on_client_message_id(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    first, created = await repo.add_message(A, conv.id, user_msg("hello", "cid-1"))
    assert created and first.client_message_id == "cid-1"
    again, created_again = await repo.add_message(A, conv.id, user_msg("changed?", "cid-1"))
    assert not created_again
    assert again == first  # the stored message, unchanged
    # concurrent repeats store it once
    repeats = await asyncio.gather(
        *(repo.add_message(A, conv.id, user_msg("x", "cid-2")) for _ in range(10))
    )
    assert sum(created for _, created in repeats) == 1
    assert len({m.id for m, _ in repeats}) == 1
    assert (await repo.get_conversation(A, conv.id)).message_count == 2
    # messages without a client id never collide with each other
    for _ in range(3):
        assert (await repo.add_message(A, conv.id, user_msg("no id")))[1]
    # the key is per user ...
    other = await repo.create_conversation(B, ConversationCreate())
    assert (await repo.add_message(B, other.id, user_msg("hello", "cid-1")))[1]
    # ... and a user cannot reuse it in another conversation
    conv2 = await repo.create_conversation(A, ConversationCreate())
    with pytest.raises(InvalidError):
        await repo.add_message(A, conv2.id, user_msg("hello", "cid-1"))


async def test_conversation_pagination_newest_activity_first(repo: HistoryRepository) -> None:
    convs = []
    for i in range(5):
        convs.append(await repo.create_conversation(A, ConversationCreate(title=f"c{i}")))
        await asyncio.sleep(0.003)  # distinct millisecond timestamps
    await repo.add_message(A, convs[1].id, user_msg("bump"))  # c1 is now the most recent
    titles = [c.title for c in await repo.list_conversations(A, 50)]
    assert titles == ["c1", "c4", "c3", "c2", "c0"]
    page1 = await repo.list_conversations(A, 2)
    assert [c.title for c in page1] == ["c1", "c4"]
    page2 = await repo.list_conversations(A, 2, before=page1[-1].updated_at)
    assert [c.title for c in page2] == ["c3", "c2"]
    page3 = await repo.list_conversations(A, 2, before=page2[-1].updated_at)
    assert [c.title for c in page3] == ["c0"]


async def test_search_titles_and_messages(repo: HistoryRepository) -> None:
    travel = await repo.create_conversation(A, ConversationCreate(title="Trip to Lisbon"))
    code = await repo.create_conversation(A, ConversationCreate(title="Python help"))
    await repo.add_message(A, code.id, user_msg("Why does re.match(.*) fail? 100% sure"))
    other = await repo.create_conversation(B, ConversationCreate(title="lisbon too"))
    await repo.add_message(B, other.id, user_msg("python python"))

    async def ids(q: str) -> set[str]:
        return {c.id for c in await repo.search_conversations(A, q, 20)}

    assert await ids("lisbon") == {travel.id}
    assert await ids("PYTHON") == {code.id}
    assert await ids("RE.MATCH(.*)") == {code.id}  # message text, literal, any case
    assert await ids("100%") == {code.id}
    assert await ids(".*") == {code.id}  # not a wildcard
    assert await ids("%") == {code.id}
    assert await ids("_") == set()
    assert await ids("nowhere") == set()
    umlaut = await repo.create_conversation(A, ConversationCreate(title="Über Köln"))
    assert await ids("üBER") == {umlaut.id}
    assert await ids("KÖLN") == {umlaut.id}


async def test_users_are_isolated(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate(title="secret"))
    msg, _ = await repo.add_message(A, conv.id, user_msg("private"))
    assert await repo.list_conversations(B, 50) == []
    assert await repo.search_conversations(B, "secret", 20) == []
    assert await repo.search_conversations(B, "private", 20) == []
    for attempt in (
        repo.get_conversation(B, conv.id),
        repo.update_conversation(B, conv.id, ConversationUpdate(title="mine")),
        repo.delete_conversation(B, conv.id),
        repo.list_messages(B, conv.id, None, 10),
        repo.add_message(B, conv.id, user_msg("intrude")),
        repo.update_message(B, conv.id, msg.id, MessageUpdate(content="x")),
        repo.delete_message(B, conv.id, msg.id),
    ):
        with pytest.raises(NotFoundError):
            await attempt
    assert (await repo.get_conversation(A, conv.id)).title == "secret"
    assert [m.content for m in await repo.list_messages(A, conv.id, None, 10)] == ["private"]


async def test_delete_conversation_deletes_messages(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    await repo.add_message(A, conv.id, user_msg("q", "kept-key"))
    await repo.add_message(
        A, conv.id, MessageCreate(role="assistant", content="partial", status="streaming")
    )
    assert len(await repo.list_streaming_messages(None, 100)) == 1
    await repo.delete_conversation(A, conv.id)
    assert await repo.list_streaming_messages(None, 100) == []
    with pytest.raises(NotFoundError):
        await repo.list_messages(A, conv.id, None, 10)
    # the message is really gone: its idempotency key is free again
    conv2 = await repo.create_conversation(A, ConversationCreate())
    assert (await repo.add_message(A, conv2.id, user_msg("q", "kept-key")))[1]
    assert await repo.search_conversations(A, "partial", 10) == []


async def test_finalise_answer_once(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    answer, _ = await repo.add_message(
        A, conv.id, MessageCreate(role="assistant", content="", status="streaming", model="m1")
    )
    usage = Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
    done = await repo.update_message(
        A,
        conv.id,
        answer.id,
        MessageUpdate(content="Hi!", status="complete", usage=usage, expect_status="streaming"),
    )
    assert (done.content, done.status, done.usage, done.model) == ("Hi!", "complete", usage, "m1")
    with pytest.raises(ConflictError):
        await repo.update_message(
            A, conv.id, answer.id, MessageUpdate(status="interrupted", expect_status="streaming")
        )
    assert (await repo.list_messages(A, conv.id, None, 10)) == [done]


async def test_regenerate_reuses_the_deleted_seq(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    await repo.add_message(A, conv.id, user_msg("q"))
    answer, _ = await repo.add_message(A, conv.id, MessageCreate(role="assistant", content="a"))
    await repo.delete_message(A, conv.id, answer.id)
    assert (await repo.get_conversation(A, conv.id)).message_count == 1
    with pytest.raises(NotFoundError):
        await repo.delete_message(A, conv.id, answer.id)
    new, _ = await repo.add_message(A, conv.id, MessageCreate(role="assistant", content="b"))
    assert new.seq == 2
    assert [m.content for m in await repo.list_messages(A, conv.id, None, 10)] == ["q", "b"]


async def test_streaming_sweep(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    other = await repo.create_conversation(B, ConversationCreate())
    s1, _ = await repo.add_message(
        A, conv.id, MessageCreate(role="assistant", content="x", status="streaming")
    )
    s2, _ = await repo.add_message(
        B, other.id, MessageCreate(role="assistant", content="y", status="streaming")
    )
    await repo.add_message(A, conv.id, MessageCreate(role="assistant", content="z"))
    assert {m.id for m in await repo.list_streaming_messages(None, 100)} == {s1.id, s2.id}
    owners = {m.id: m.user_id for m in await repo.list_streaming_messages(None, 100)}
    assert owners == {s1.id: A, s2.id: B}  # the sweep needs each message's owner
    assert await repo.list_streaming_messages("2000-01-01T00:00:00.000Z", 100) == []
    await repo.update_message(A, conv.id, s1.id, MessageUpdate(status="interrupted"))
    assert [m.id for m in await repo.list_streaming_messages(None, 100)] == [s2.id]


@pytest.mark.parametrize("bad", ['{"$ne": null}', "{'$gt': ''}", "../x", "a b", "", "x" * 65])
async def test_ids_that_cannot_be_ours_are_not_found(repo: HistoryRepository, bad: str) -> None:
    conv = await repo.create_conversation(A, ConversationCreate())
    await repo.add_message(A, conv.id, user_msg("m"))
    with pytest.raises(NotFoundError):
        await repo.get_conversation(A, bad)
    with pytest.raises(NotFoundError):
        await repo.list_messages(A, bad, None, 10)


async def test_large_content_round_trips(repo: HistoryRepository) -> None:
    conv = await repo.create_conversation(A, ConversationCreate(title="é" * 200))
    text = "ü€😀" * 8000  # 32,000 characters, multi-byte
    msg, _ = await repo.add_message(A, conv.id, user_msg(text))
    assert (await repo.list_messages(A, conv.id, None, 1))[0].content == text == msg.content
    assert (await repo.get_conversation(A, conv.id)).title == "é" * 200
