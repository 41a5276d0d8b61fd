"""Share links in the embedded SQLite file (table ``shares``; the snapshot as JSON), beside
the history (``SqliteSideStore``: a connection of its own, each write one transaction)."""

from __future__ import annotations

import json
import sqlite3

from ..shares import ShareRecord
from ._side_stores import SqliteSideStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    message_count INTEGER NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shares_conversation ON shares (user_id, conversation_id);
"""
_COLS = "id, user_id, conversation_id, title, created_at, expires_at, message_count, snapshot"


def _share(row: sqlite3.Row) -> ShareRecord:
    r = dict(row)
    return ShareRecord(**{**r, "snapshot": json.loads(r["snapshot"])})


class SqliteSharesRepository(SqliteSideStore):
    SCHEMA = SCHEMA

    async def add(self, share: ShareRecord) -> None:
        await self._write(
            f"INSERT INTO shares ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (share.id, share.user_id, share.conversation_id, share.title, share.created_at,
             share.expires_at, share.message_count, json.dumps(share.snapshot)),
        )

    async def get(self, share_id: str) -> ShareRecord | None:
        rows = await self._rows(f"SELECT {_COLS} FROM shares WHERE id = ?", (share_id,))
        return _share(rows[0]) if rows else None

    async def list_for(self, user_id: str, conversation_id: str) -> list[ShareRecord]:
        rows = await self._rows(
            f"SELECT {_COLS} FROM shares WHERE user_id = ? AND conversation_id = ?"
            " ORDER BY created_at DESC",
            (user_id, conversation_id),
        )
        return [_share(r) for r in rows]

    async def delete(self, user_id: str, share_id: str) -> bool:
        return await self._write(
            "DELETE FROM shares WHERE id = ? AND user_id = ?", (share_id, user_id)) > 0

    async def delete_for(self, user_id: str, conversation_id: str) -> None:
        await self._write("DELETE FROM shares WHERE user_id = ? AND conversation_id = ?",
                          (user_id, conversation_id))
