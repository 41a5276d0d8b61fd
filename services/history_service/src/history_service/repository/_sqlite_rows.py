"""Rows of the SQLite store: columns, row → model, and the reads every write also makes."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite
from chatbot_common.contract import Usage
from chatbot_common.errors import NotFoundError

from ..models import ConversationPublic, MessagePublic
from . import _sqlite_tree as versions

Db = aiosqlite.Connection

CONV_COLS = "id, title, created_at, updated_at, message_count, model, system_prompt"
MSG_COLS = (
    "id, conversation_id, seq, role, content, status, created_at, model, usage, client_message_id,"
    " parent_id, feedback"
)


def conversation_row(row: sqlite3.Row) -> ConversationPublic:
    return ConversationPublic(**dict(row))


def message_row(row: sqlite3.Row) -> MessagePublic:
    r = dict(row)
    usage = r.pop("usage")
    feedback = versions.feedback_of(r.pop("feedback"))
    return MessagePublic(
        **r, usage=Usage(**json.loads(usage)) if usage else None, feedback=feedback
    )


def casefold(text: object) -> str | None:
    return text.casefold() if isinstance(text, str) else None


async def one(db: Db, sql: str, args: Any) -> sqlite3.Row | None:
    rows = list(await db.execute_fetchall(sql, args))
    return rows[0] if rows else None


async def get_conversation(db: Db, user_id: str, conversation_id: str) -> ConversationPublic:
    row = await one(
        db,
        f"SELECT {CONV_COLS} FROM conversations WHERE id = ? AND user_id = ?",
        (conversation_id, user_id),
    )
    if row is None:
        raise NotFoundError("no such conversation")
    return conversation_row(row)


async def get_message(
    db: Db, user_id: str, conversation_id: str, message_id: str
) -> MessagePublic:
    row = await one(
        db,
        f"SELECT {MSG_COLS} FROM messages WHERE id = ? AND conversation_id = ? AND user_id = ?",
        (message_id, conversation_id, user_id),
    )
    if row is None:
        raise NotFoundError("no such message")
    return message_row(row)
