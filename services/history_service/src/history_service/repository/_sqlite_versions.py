"""Message versions (``tree.py``) and feedback of ``SqliteHistoryRepository``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from chatbot_common.contract import Feedback

from .. import tree
from ..models import (
    ConversationPublic,
    MessageCreate,
    MessagePublic,
    TreeMessage,
)
from . import _sqlite_tree as versions
from ._sqlite_rows import _MSG_COLS, Db, _get_conversation, _get_message, _message, _one

T = TypeVar("T")


class SqliteVersions:
    """Mixed into the store, which provides these members."""

    @property
    def _r(self) -> Db:
        raise NotImplementedError

    async def _write(self, operation: Callable[[Db], Awaitable[T]]) -> T:
        raise NotImplementedError

    async def _insert(
        self, db: Db, user_id: str, conversation_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        raise NotImplementedError

    async def _existing(
        self, db: Db, user_id: str, conversation_id: str, data: MessageCreate
    ) -> MessagePublic:
        raise NotImplementedError

    async def edit_message(
        self, user_id: str, conversation_id: str, message_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        async def op(db: Db) -> tuple[MessagePublic, bool]:
            await _get_conversation(db, user_id, conversation_id)
            if data.client_message_id is not None:
                row = await _one(
                    db,
                    f"SELECT {_MSG_COLS} FROM messages WHERE user_id = ? AND client_message_id = ?",
                    (user_id, data.client_message_id),
                )
                if row is not None:  # a repeat: nothing changes again
                    return await self._existing(db, user_id, conversation_id, data), False
            edited = await _get_message(db, user_id, conversation_id, message_id)
            tree.check_editable(edited, await versions.is_active(db, message_id))
            await versions.leave_branch_from(db, conversation_id, edited.seq)
            return await self._insert(db, user_id, conversation_id, data)

        return await self._write(op)

    async def select_branch(
        self, user_id: str, conversation_id: str, message_id: str
    ) -> ConversationPublic:
        async def op(db: Db) -> ConversationPublic:
            await _get_conversation(db, user_id, conversation_id)
            nodes = await versions.nodes(db, conversation_id)
            path = tree.branch_through(nodes, message_id)
            on, off = tree.changes(nodes, path)
            await versions.activate(db, conversation_id, on, off, len(path))
            return await _get_conversation(db, user_id, conversation_id)

        return await self._write(op)

    async def list_tree(
        self, user_id: str, conversation_id: str, after_seq: int | None, limit: int
    ) -> list[TreeMessage]:
        await _get_conversation(self._r, user_id, conversation_id)
        rows = await versions.tree_rows(self._r, _MSG_COLS, conversation_id, after_seq, limit)
        return [
            TreeMessage(**_message(r).model_dump(), active=bool(r["active"])) for r in rows
        ]

    async def set_feedback(
        self, user_id: str, conversation_id: str, message_id: str, feedback: Feedback | None
    ) -> MessagePublic:
        async def op(db: Db) -> MessagePublic:
            tree.check_rated(await _get_message(db, user_id, conversation_id, message_id))
            await db.execute(
                "UPDATE messages SET feedback = ? WHERE id = ?",
                (versions.feedback_json(feedback), message_id),
            )
            return await _get_message(db, user_id, conversation_id, message_id)

        return await self._write(op)
