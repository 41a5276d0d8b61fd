"""A read retried after the server went away reads again (MongoDB store, on FerretDB)."""

from __future__ import annotations

from typing import Any

import pytest
from chatbot_common.contract import MessageStatus, Role
from history_service.models import ConversationCreate, MessageCreate
from history_service.repository import HistoryRepository
from pymongo.errors import AutoReconnect


class FailsOnce:
    """A cursor whose first ``to_list`` fails as a restarted server's does; that same cursor
    then reads nothing (it is dead), as PyMongo's does after the failure."""

    failed = False

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.dead = False

    def sort(self, *args: Any) -> FailsOnce:
        self.cursor = self.cursor.sort(*args)
        return self

    def limit(self, n: int) -> FailsOnce:
        self.cursor = self.cursor.limit(n)
        return self

    async def to_list(self) -> list[Any]:
        if self.dead:
            return []
        if not FailsOnce.failed:
            FailsOnce.failed = self.dead = True
            raise AutoReconnect("connection closed (server restarted)")
        return list(await self.cursor.to_list())


@pytest.mark.mongo
@pytest.mark.parametrize("settings", ["mongo"], indirect=True)
async def test_a_retried_list_reads_the_messages_again(
    repo: HistoryRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = await repo.create_conversation("u1", ConversationCreate())
    await repo.add_message("u1", conv.id, MessageCreate(
        role=Role.USER, content="hello", status=MessageStatus.COMPLETE))
    inner = repo.inner  # type: ignore[attr-defined]
    real_find = inner.messages.find
    monkeypatch.setattr(inner.messages, "find", lambda *a, **k: FailsOnce(real_find(*a, **k)))
    found = await repo.list_messages("u1", conv.id, None, 50)
    assert FailsOnce.failed
    assert [m.content for m in found] == ["hello"]  # not [] from the dead cursor
