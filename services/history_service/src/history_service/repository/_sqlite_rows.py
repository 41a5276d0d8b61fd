"""Rows of the SQLite store as models, and its small helpers (also the reads every write
makes: a conversation or message of this user, else not found)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite
from chatbot_common.contract import Usage
from chatbot_common.errors import NotFoundError
from pydantic import BaseModel

from ..models import ConversationPublic, MessagePublic
from . import _sqlite_tree as versions

Db = aiosqlite.Connection

_CONV_COLS = "id, title, created_at, updated_at, message_count, model, system_prompt, sampling"
_MSG_COLS = (
    "id, conversation_id, seq, role, content, status, created_at, model, usage,"
    " client_message_id, files, parent_id, feedback, next_index"
)
#: Columns added after the first release: ``open()`` adds them to an older file (where a
#: ``streaming`` message's ``next_index`` is NULL: its text reaches an unknown delta).
_ADDED_COLUMNS = (
    ("conversations", "sampling", "TEXT"),
    ("messages", "files", "TEXT"),
    ("messages", "next_index", "INTEGER"),
)


def _conversation(row: sqlite3.Row) -> ConversationPublic:
    r = dict(row)
    sampling = r.pop("sampling")
    return ConversationPublic(**r, sampling=json.loads(sampling) if sampling else None)


def _message(row: sqlite3.Row) -> MessagePublic:
    r = dict(row)
    usage, files = r.pop("usage"), r.pop("files")
    feedback = versions.feedback_of(r.pop("feedback"))
    return MessagePublic(
        **r, usage=Usage(**json.loads(usage)) if usage else None,
        files=json.loads(files) if files else None, feedback=feedback,
    )


def _json(model: BaseModel | list[Any] | None) -> str | None:
    if model is None:
        return None
    if isinstance(model, list):
        return json.dumps([m.model_dump() for m in model])
    return model.model_dump_json()


async def _add_columns(db: Db) -> None:
    """Add the missing columns in one ``BEGIN IMMEDIATE``: two processes opening the same
    file cannot both add one (the second would fail on a duplicate column)."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        for table, column, kind in _ADDED_COLUMNS:
            present = {r[1] for r in await db.execute_fetchall(f"PRAGMA table_info({table})")}
            if column not in present:
                await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise


def _casefold(text: object) -> str | None:
    return text.casefold() if isinstance(text, str) else None


async def _one(db: Db, sql: str, args: Any) -> sqlite3.Row | None:
    rows = list(await db.execute_fetchall(sql, args))
    return rows[0] if rows else None


async def _get_conversation(db: Db, user_id: str, conversation_id: str) -> ConversationPublic:
    row = await _one(
        db,
        f"SELECT {_CONV_COLS} FROM conversations WHERE id = ? AND user_id = ?",
        (conversation_id, user_id),
    )
    if row is None:
        raise NotFoundError("no such conversation")
    return _conversation(row)


async def _get_message(
    db: Db, user_id: str, conversation_id: str, message_id: str
) -> MessagePublic:
    row = await _one(
        db,
        f"SELECT {_MSG_COLS} FROM messages WHERE id = ? AND conversation_id = ? AND user_id = ?",
        (message_id, conversation_id, user_id),
    )
    if row is None:
        raise NotFoundError("no such message")
    return _message(row)
