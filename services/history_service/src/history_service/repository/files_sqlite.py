"""Files in the embedded SQLite file: ``files`` (metadata and extracted text) and
``file_blobs`` (the bytes, one row per file), both removed with their conversation by
``ON DELETE CASCADE``.

A connection of its own (WAL shares the file with the history writer); each write is one
``BEGIN IMMEDIATE`` transaction, so the storage limit check and the insert are atomic across
processes too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
from chatbot_common.errors import NotFoundError, TooLargeError, UnavailableError

from ..files import FileDetail, FilePublic

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    text TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_user ON files (user_id);
CREATE INDEX IF NOT EXISTS files_conversation ON files (conversation_id, created_at);
CREATE TABLE IF NOT EXISTS file_blobs (
    file_id TEXT PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    data BLOB NOT NULL
);
"""

_COLS = "id, conversation_id, name, media_type, kind, size, created_at, length(text) AS text_chars"


def _public(row: sqlite3.Row) -> FilePublic:
    return FilePublic(**dict(row))


class SqliteFilesRepository:
    def __init__(self, path: Path, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = sqlite3.Row
        await db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = FULL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.executescript(SCHEMA)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise UnavailableError("the history store is not open")
        return self._db

    async def _rows(self, sql: str, args: Any) -> list[sqlite3.Row]:
        return list(await self.db.execute_fetchall(sql, args))

    async def add_file(
        self, user_id: str, file: FileDetail, data: bytes, max_user_bytes: int
    ) -> FilePublic:
        async with self._lock:
            db = self.db
            await db.execute("BEGIN IMMEDIATE")
            try:
                owner = await self._rows(
                    "SELECT 1 FROM conversations WHERE id = ? AND user_id = ?",
                    (file.conversation_id, user_id),
                )
                if not owner:
                    raise NotFoundError("no such conversation")
                used = (await self._rows(
                    "SELECT COALESCE(SUM(size), 0) FROM files WHERE user_id = ?", (user_id,)
                ))[0][0]
                if used + file.size > max_user_bytes:
                    raise TooLargeError(
                        f"your files would exceed {max_user_bytes} bytes: delete some "
                        "conversations with files first", limit=max_user_bytes,
                    )
                await db.execute(
                    "INSERT INTO files (id, conversation_id, user_id, name, media_type, kind,"
                    " size, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (file.id, file.conversation_id, user_id, file.name, file.media_type,
                     file.kind, file.size, file.text, file.created_at),
                )
                await db.execute(
                    "INSERT INTO file_blobs (file_id, data) VALUES (?, ?)", (file.id, data)
                )
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise
        return FilePublic(**file.model_dump(exclude={"text"}))

    async def get_file(self, user_id: str, file_id: str) -> FileDetail:
        rows = await self._rows(
            f"SELECT {_COLS}, text FROM files WHERE id = ? AND user_id = ?", (file_id, user_id)
        )
        if not rows:
            raise NotFoundError("no such file")
        return FileDetail(**dict(rows[0]))

    async def read_data(self, user_id: str, file_id: str) -> tuple[FileDetail, bytes]:
        file = await self.get_file(user_id, file_id)
        rows = await self._rows("SELECT data FROM file_blobs WHERE file_id = ?", (file_id,))
        if not rows:
            raise NotFoundError("no such file")
        return file, bytes(rows[0][0])

    async def list_files(self, user_id: str, conversation_id: str) -> list[FilePublic]:
        rows = await self._rows(
            f"SELECT {_COLS} FROM files WHERE conversation_id = ? AND user_id = ?"
            " ORDER BY created_at, id",
            (conversation_id, user_id),
        )
        return [_public(r) for r in rows]

    async def _delete(self, sql: str, args: Any) -> int:
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                cursor = await self.db.execute(sql, args)
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            return cursor.rowcount

    async def delete_file(self, user_id: str, file_id: str) -> None:
        if not await self._delete(
            "DELETE FROM files WHERE id = ? AND user_id = ?", (file_id, user_id)
        ):
            raise NotFoundError("no such file")

    async def delete_conversation_files(self, user_id: str, conversation_id: str) -> int:
        # Usually nothing is left: the conversation's deletion cascaded here already.
        return await self._delete(
            "DELETE FROM files WHERE conversation_id = ? AND user_id = ?",
            (conversation_id, user_id),
        )

    async def user_bytes(self, user_id: str) -> int:
        rows = await self._rows(
            "SELECT COALESCE(SUM(size), 0) FROM files WHERE user_id = ?", (user_id,)
        )
        return int(rows[0][0])
