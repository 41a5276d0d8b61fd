"""The SQLite side of message versions (``tree.py``) and feedback: schema upgrade and queries.

Columns added to ``messages`` (by ``ALTER TABLE`` on open, for files of earlier versions
too): ``parent_id`` (backfilled for earlier messages: the one before in ``seq``), ``active``
(1 on the branch shown) and ``feedback`` (JSON). Every function here takes the connection of
the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite
from chatbot_common.contract import Feedback
from chatbot_common.errors import NotFoundError

from ..models import ConversationPublic, MessagePublic
from ..tree import Node

Db = aiosqlite.Connection

_UPGRADE = (
    "ALTER TABLE messages ADD COLUMN parent_id TEXT",
    "ALTER TABLE messages ADD COLUMN active INTEGER NOT NULL DEFAULT 1",
    # Messages stored before versions existed form one line: each follows the one before.
    "UPDATE messages SET parent_id = (SELECT p.id FROM messages p"
    " WHERE p.conversation_id = messages.conversation_id AND p.seq < messages.seq"
    " ORDER BY p.seq DESC LIMIT 1)",
)
_INDEX = "CREATE INDEX IF NOT EXISTS messages_parent ON messages (conversation_id, parent_id)"

#: The parent of a new message: the last message of the active branch.
PARENT_SQL = (
    "(SELECT id FROM messages WHERE conversation_id = ? AND active = 1"
    " ORDER BY seq DESC LIMIT 1)"
)


async def upgrade(db: Db) -> None:
    """Add the columns once (in one ``BEGIN IMMEDIATE``: two processes opening the same file
    cannot both add them)."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        cols = {r[1] for r in await db.execute_fetchall("PRAGMA table_info(messages)")}
        if "parent_id" not in cols:
            for sql in _UPGRADE:
                await db.execute(sql)
        if "feedback" not in cols:
            await db.execute("ALTER TABLE messages ADD COLUMN feedback TEXT")
        await db.execute(_INDEX)
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise


def feedback_of(value: str | None) -> Feedback | None:
    return Feedback.model_validate(json.loads(value)) if value else None


def feedback_json(value: Feedback | None) -> str | None:
    return value.model_dump_json() if value is not None else None


async def nodes(db: Db, conversation_id: str) -> list[Node]:
    rows = await db.execute_fetchall(
        "SELECT id, parent_id, seq, active FROM messages WHERE conversation_id = ?",
        (conversation_id,),
    )
    return [Node(r[0], r[1], r[2], bool(r[3])) for r in rows]


async def branched(db: Db, conversation: ConversationPublic) -> bool:
    """Whether the conversation may have versions: fewer messages shown than stored (``seq``
    numbers every stored message; one indexed look-up)."""
    rows = list(await db.execute_fetchall(
        "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = ?",
        (conversation.id,)))
    return bool(rows) and int(rows[0][0]) != conversation.message_count


async def siblings(db: Db, conversation_id: str, messages: list[MessagePublic]) -> list[Node]:
    """Messages sharing a parent with one of ``messages`` (those included)."""
    parents = sorted({m.parent_id for m in messages if m.parent_id is not None})
    found: list[Node] = []
    for i in range(0, len(parents), 500):  # bounded number of parameters per statement
        chunk = parents[i : i + 500]
        rows = await db.execute_fetchall(
            "SELECT id, parent_id, seq FROM messages WHERE conversation_id = ?"
            f" AND parent_id IN ({', '.join('?' * len(chunk))})",
            (conversation_id, *chunk),
        )
        found.extend(Node(r[0], r[1], r[2]) for r in rows)
    if any(m.parent_id is None for m in messages):
        rows = await db.execute_fetchall(
            "SELECT id, parent_id, seq FROM messages WHERE conversation_id = ?"
            " AND parent_id IS NULL",
            (conversation_id,),
        )
        found.extend(Node(r[0], r[1], r[2]) for r in rows)
    return found


async def is_active(db: Db, message_id: str) -> bool:
    rows = list(await db.execute_fetchall("SELECT active FROM messages WHERE id = ?",
                                          (message_id,)))
    if not rows:
        raise NotFoundError("no such message")
    return bool(rows[0][0])


async def leave_branch_from(db: Db, conversation_id: str, seq: int) -> None:
    """The active messages from ``seq`` on leave the active branch (an edit)."""
    cur = await db.execute(
        "UPDATE messages SET active = 0 WHERE conversation_id = ? AND active = 1 AND seq >= ?",
        (conversation_id, seq),
    )
    await db.execute(
        "UPDATE conversations SET message_count = message_count - ? WHERE id = ?",
        (cur.rowcount, conversation_id),
    )


async def activate(db: Db, conversation_id: str, on: list[str], off: list[str],
                   count: int) -> None:
    await db.executemany("UPDATE messages SET active = 1 WHERE id = ?", [(i,) for i in on])
    await db.executemany("UPDATE messages SET active = 0 WHERE id = ?", [(i,) for i in off])
    await db.execute(
        "UPDATE conversations SET message_count = ? WHERE id = ?", (count, conversation_id)
    )


async def tree_rows(
    db: Db, cols: str, conversation_id: str, after_seq: int | None, limit: int
) -> list[sqlite3.Row]:
    args: tuple[Any, ...] = (conversation_id, after_seq or 0, limit)
    return list(await db.execute_fetchall(
        f"SELECT {cols}, active FROM messages WHERE conversation_id = ? AND seq > ?"
        " ORDER BY seq LIMIT ?",
        args,
    ))
