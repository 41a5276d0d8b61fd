"""The embedded default store: one SQLite file (WAL) through aiosqlite.

Writes go through one connection and a group-commit writer (``_group_commit.py``): one
``BEGIN IMMEDIATE`` transaction at a time (also across processes sharing the file), holding
every write that queued meanwhile. ``seq`` is computed inside the ``INSERT`` (``MAX(seq) + 1``
under the write lock), so it is race-free and gapless; ``UNIQUE (conversation_id, seq)``
backs that up. Idempotent sends rely on ``UNIQUE (user_id, client_message_id)`` (``ON
CONFLICT DO NOTHING``), never on a check before the insert. ``synchronous=FULL``: a commit is
on disk before the write is acknowledged. Reads use a second connection, which WAL lets run
beside the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from chatbot_common.contract import now_iso
from chatbot_common.errors import NotFoundError, UnavailableError
from chatbot_common.settings import private_file

from .. import tree
from ..models import (
    ConversationCreate,
    ConversationPublic,
    ConversationUpdate,
    MessageCreate,
    MessagePublic,
    MessageUpdate,
    StreamingMessage,
)
from . import _sqlite_tree as versions
from ._group_commit import GroupCommitWriter
from ._sqlite_rows import (
    _CONV_COLS,
    _MSG_COLS,
    Db,
    _add_columns,
    _casefold,
    _conversation,
    _get_conversation,
    _get_message,
    _json,
    _message,
    _one,
)
from ._sqlite_versions import SqliteVersions

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    title TEXT NOT NULL,
    system_prompt TEXT,
    model TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    sampling TEXT
);
CREATE INDEX IF NOT EXISTS conversations_user_updated
    ON conversations (user_id, updated_at DESC);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL,
    model TEXT,
    usage TEXT,
    client_message_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    files TEXT,
    next_index INTEGER,
    UNIQUE (conversation_id, seq),
    UNIQUE (user_id, client_message_id)
);
CREATE INDEX IF NOT EXISTS messages_streaming
    ON messages (updated_at) WHERE status = 'streaming';
"""

class SqliteHistoryRepository(SqliteVersions):
    """``HistoryRepository`` on a SQLite file (see the module docstring)."""

    name = "sqlite"

    def __init__(self, path: Path, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._writer_db: Db | None = None
        self._reader: Db | None = None
        self._writer: GroupCommitWriter | None = None

    async def _connect(self) -> Db:
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE ... COMMIT).
        db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = sqlite3.Row
        await db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA synchronous = FULL")
        await db.create_function("casefold", 1, _casefold, deterministic=True)
        return db

    async def open(self) -> None:
        # 0600 (SQLite gives its -wal and -shm files the same mode).
        await asyncio.to_thread(private_file, self.path)
        self._writer_db = await self._connect()
        await self._writer_db.execute("PRAGMA journal_mode = WAL")
        await self._writer_db.executescript(SCHEMA)
        await _add_columns(self._writer_db)
        await versions.upgrade(self._writer_db)
        self._writer = GroupCommitWriter(self._writer_db)
        self._reader = await self._connect()

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
        for db in (self._reader, self._writer_db):
            if db is not None:
                await db.close()
        self._reader = self._writer_db = None
        self._writer = None

    @property
    def _r(self) -> Db:
        if self._reader is None:
            raise UnavailableError("the history store is not open")
        return self._reader

    async def _write(self, operation: Callable[[Db], Awaitable[T]]) -> T:
        if self._writer is None:
            raise UnavailableError("the history store is not open")
        return await self._writer.run(operation)

    async def ping(self) -> bool:
        return await _one(self._r, "SELECT 1", ()) is not None

    # -- conversations ------------------------------------------------------------------

    async def create_conversation(
        self, user_id: str, data: ConversationCreate
    ) -> ConversationPublic:
        conv = data.new()

        async def op(db: Db) -> ConversationPublic:
            await db.execute(
                "INSERT INTO conversations (id, user_id, title, system_prompt, model,"
                " created_at, updated_at, sampling) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (conv.id, user_id, conv.title, conv.system_prompt, conv.model, conv.created_at,
                 conv.updated_at, _json(conv.sampling)),
            )
            return conv

        return await self._write(op)

    async def list_conversations(
        self, user_id: str, limit: int, before: str | None = None
    ) -> list[ConversationPublic]:
        sql = f"SELECT {_CONV_COLS} FROM conversations WHERE user_id = ?"
        args: list[Any] = [user_id]
        if before is not None:
            sql += " AND updated_at < ?"
            args.append(before)
        sql += " ORDER BY updated_at DESC, id DESC LIMIT ?"
        args.append(limit)
        return [_conversation(r) for r in await self._r.execute_fetchall(sql, args)]

    async def search_conversations(
        self, user_id: str, query: str, limit: int
    ) -> list[ConversationPublic]:
        # Substring match after Unicode case folding (SQLite's LIKE folds ASCII only), a
        # scan of this user's titles and messages: fine for a chat history's size.
        needle = query.casefold()
        sql = (
            f"SELECT {_CONV_COLS} FROM conversations c WHERE c.user_id = ? AND ("
            " instr(casefold(c.title), ?) OR EXISTS (SELECT 1 FROM messages m"
            " WHERE m.conversation_id = c.id AND instr(casefold(m.content), ?)))"
            " ORDER BY c.updated_at DESC, c.id DESC LIMIT ?"
        )
        rows = await self._r.execute_fetchall(sql, (user_id, needle, needle, limit))
        return [_conversation(r) for r in rows]

    async def get_conversation(self, user_id: str, conversation_id: str) -> ConversationPublic:
        return await _get_conversation(self._r, user_id, conversation_id)

    async def update_conversation(
        self, user_id: str, conversation_id: str, data: ConversationUpdate
    ) -> ConversationPublic:
        fields = data.changes()
        if "sampling" in fields:
            fields["sampling"] = _json(data.sampling)

        async def op(db: Db) -> ConversationPublic:
            await _get_conversation(db, user_id, conversation_id)
            if fields:
                sets = ", ".join(f"{k} = ?" for k in fields)  # keys come from the model
                await db.execute(
                    f"UPDATE conversations SET {sets} WHERE id = ?",
                    [*fields.values(), conversation_id],
                )
            return await _get_conversation(db, user_id, conversation_id)

        return await self._write(op)

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        async def op(db: Db) -> None:
            # ON DELETE CASCADE removes the messages in the same statement.
            cur = await db.execute(
                "DELETE FROM conversations WHERE id = ? AND user_id = ?",
                (conversation_id, user_id),
            )
            if cur.rowcount == 0:
                raise NotFoundError("no such conversation")

        await self._write(op)

    # -- messages -----------------------------------------------------------------------

    async def list_messages(
        self, user_id: str, conversation_id: str, after_seq: int | None, limit: int
    ) -> list[MessagePublic]:
        # The active branch only (see tree.py), with the versions of its messages.
        conversation = await _get_conversation(self._r, user_id, conversation_id)
        if after_seq is not None:
            sql = (
                f"SELECT {_MSG_COLS} FROM messages WHERE conversation_id = ? AND active = 1"
                " AND seq > ? ORDER BY seq LIMIT ?"
            )
            args: tuple[Any, ...] = (conversation_id, after_seq, limit)
        else:
            sql = (
                f"SELECT * FROM (SELECT {_MSG_COLS} FROM messages WHERE conversation_id = ?"
                " AND active = 1 ORDER BY seq DESC LIMIT ?) ORDER BY seq"
            )
            args = (conversation_id, limit)
        found = [_message(r) for r in await self._r.execute_fetchall(sql, args)]
        if not await versions.branched(self._r, conversation):
            return found
        return tree.with_versions(found, await versions.siblings(self._r, conversation_id, found))

    async def add_message(
        self, user_id: str, conversation_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        return await self._write(lambda db: self._insert(db, user_id, conversation_id, data))

    async def _insert(
        self, db: Db, user_id: str, conversation_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        message = data.new(conversation_id, seq=0)  # the insert computes seq and the parent
        usage = message.usage.model_dump_json() if message.usage else None
        # One statement: the conversation must be this user's; seq = max + 1 under the
        # write lock; the parent is the active branch's last message; a repeated
        # client_message_id inserts nothing.
        row = await _one(
            db,
            "INSERT INTO messages (id, conversation_id, user_id, seq, role, content,"
            " status, model, usage, client_message_id, created_at, updated_at, files,"
            " next_index, parent_id)"
            " SELECT ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages"
            f"  WHERE conversation_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {versions.PARENT_SQL}"
            " FROM conversations WHERE id = ? AND user_id = ?"
            " ON CONFLICT (user_id, client_message_id) DO NOTHING RETURNING seq, parent_id",
            (
                message.id,
                conversation_id,
                user_id,
                conversation_id,
                message.role,
                message.content,
                message.status,
                message.model,
                usage,
                message.client_message_id,
                message.created_at,
                message.created_at,
                _json(message.files),
                message.next_index,
                conversation_id,
                conversation_id,
                user_id,
            ),
        )
        if row is None:
            return await self._existing(db, user_id, conversation_id, data), False
        await db.execute(
            "UPDATE conversations SET message_count = message_count + 1,"
            " updated_at = max(updated_at, ?) WHERE id = ?",
            (message.created_at, conversation_id),
        )
        return message.model_copy(update={"seq": row[0], "parent_id": row[1]}), True

    async def _existing(
        self, db: Db, user_id: str, conversation_id: str, data: MessageCreate
    ) -> MessagePublic:
        """Nothing was inserted: the conversation is not this user's, or a repeat."""
        await _get_conversation(db, user_id, conversation_id)
        row = await _one(
            db,
            f"SELECT {_MSG_COLS} FROM messages WHERE user_id = ? AND client_message_id = ?",
            (user_id, data.client_message_id),
        )
        if row is None:  # cannot happen: the insert only skips on this conflict
            raise UnavailableError("the message was neither stored nor found")
        return data.repeat(_message(row), conversation_id)

    async def update_message(
        self, user_id: str, conversation_id: str, message_id: str, data: MessageUpdate
    ) -> MessagePublic:
        fields = data.changes()
        if "usage" in fields:
            fields["usage"] = data.usage.model_dump_json() if data.usage else None

        async def op(db: Db) -> MessagePublic:
            current = await _get_message(db, user_id, conversation_id, message_id)
            if not data.allows(current.status):
                raise data.conflict(current.status)
            values = {**fields, "updated_at": now_iso()}
            sets = ", ".join(f"{k} = ?" for k in values)  # keys come from the model
            await db.execute(
                f"UPDATE messages SET {sets} WHERE id = ?", [*values.values(), message_id]
            )
            return await _get_message(db, user_id, conversation_id, message_id)

        return await self._write(op)

    async def save_text(
        self, user_id: str, conversation_id: str, message_id: str, content: str,
        next_index: int | None,
    ) -> bool:
        async def op(db: Db) -> bool:
            cur = await db.execute(
                "UPDATE messages SET content = ?, next_index = ?, updated_at = ? WHERE id = ?"
                " AND conversation_id = ? AND user_id = ? AND status = 'streaming'",
                (content, next_index, now_iso(), message_id, conversation_id, user_id),
            )
            return bool(cur.rowcount)

        return await self._write(op)

    async def delete_message(self, user_id: str, conversation_id: str, message_id: str) -> None:
        async def op(db: Db) -> None:
            row = await _one(
                db,
                "DELETE FROM messages WHERE id = ? AND conversation_id = ? AND user_id = ?"
                " RETURNING active",
                (message_id, conversation_id, user_id),
            )
            if row is None:
                raise NotFoundError("no such message")
            await db.execute(
                "UPDATE conversations SET message_count = message_count - ? WHERE id = ?",
                (row[0], conversation_id),
            )

        await self._write(op)

    async def list_streaming_messages(
        self, updated_before: str | None, limit: int
    ) -> list[StreamingMessage]:
        sql = (
            f"SELECT {_MSG_COLS}, user_id FROM messages"
            " WHERE status = 'streaming' AND role = 'assistant'"
        )
        args: list[Any] = []
        if updated_before is not None:
            sql += " AND updated_at < ?"
            args.append(updated_before)
        sql += " ORDER BY updated_at LIMIT ?"
        args.append(limit)
        rows = await self._r.execute_fetchall(sql, args)
        return [
            StreamingMessage(**_message(r).model_dump(), user_id=r["user_id"]) for r in rows
        ]
