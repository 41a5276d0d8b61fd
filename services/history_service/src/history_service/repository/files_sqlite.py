"""Files in the embedded SQLite file: ``files`` (metadata and extracted text) and
``file_blobs`` (the bytes, one row per file), both removed with their conversation by
``ON DELETE CASCADE``.

A connection of its own (WAL shares the file with the history writer); each write is one
``BEGIN IMMEDIATE`` transaction, so the storage limit check and the insert are atomic across
processes too.
"""

from __future__ import annotations

import sqlite3

from chatbot_common.errors import NotFoundError, TooLargeError

from ..files import FileDetail, FilePublic
from ._side_stores import SqliteSideStore

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


class SqliteFilesRepository(SqliteSideStore):
    SCHEMA = SCHEMA

    async def add_file(
        self, user_id: str, file: FileDetail, data: bytes, max_user_bytes: int
    ) -> FilePublic:
        async with self._transaction() as db:
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

    async def delete_file(self, user_id: str, file_id: str) -> None:
        if not await self._write(
            "DELETE FROM files WHERE id = ? AND user_id = ?", (file_id, user_id)
        ):
            raise NotFoundError("no such file")

    async def delete_conversation_files(self, user_id: str, conversation_id: str) -> int:
        # Usually nothing is left: the conversation's deletion cascaded here already.
        return await self._write(
            "DELETE FROM files WHERE conversation_id = ? AND user_id = ?",
            (conversation_id, user_id),
        )

    async def user_bytes(self, user_id: str) -> int:
        rows = await self._rows(
            "SELECT COALESCE(SUM(size), 0) FROM files WHERE user_id = ?", (user_id,)
        )
        return int(rows[0][0])
