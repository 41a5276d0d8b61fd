"""Users and usage in the embedded SQLite file (beside conversations and messages).

A connection of its own (WAL lets it share the file with the history writer); each write is
one ``BEGIN IMMEDIATE`` transaction, serialised here by a lock and across processes by
SQLite's write lock (``busy_timeout``). ``synchronous=FULL`` as for messages.
"""

from __future__ import annotations

import sqlite3

import aiosqlite
from chatbot_common.errors import NotFoundError

from ..accounts import UsageCreate, UserRecord, UserSeen, UserUpdate
from ._side_stores import SqliteSideStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    name TEXT,
    guest INTEGER NOT NULL DEFAULT 0,
    last_seen TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    tokens_per_day INTEGER
);
CREATE INDEX IF NOT EXISTS users_last_seen ON users (last_seen DESC);
CREATE TABLE IF NOT EXISTS usage (
    message_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    model TEXT,
    status TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    ttft_ms REAL,
    day TEXT NOT NULL,
    finished_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_finished ON usage (finished_at);
CREATE INDEX IF NOT EXISTS usage_user_day ON usage (user_id, day);
"""

_USER_COLS = "user_id, name, guest, last_seen, disabled, tokens_per_day"
_USAGE_COLS = (
    "message_id, user_id, conversation_id, model, status, prompt_tokens, completion_tokens,"
    " ttft_ms, finished_at"
)


async def _add_feedback_column(db: aiosqlite.Connection) -> None:
    """``usage.feedback`` (an answer's rating), added to files of earlier versions too."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        cols = {r[1] for r in await db.execute_fetchall("PRAGMA table_info(usage)")}
        if "feedback" not in cols:
            await db.execute("ALTER TABLE usage ADD COLUMN feedback TEXT")
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise


def _user(row: sqlite3.Row) -> UserRecord:
    r = dict(row)
    return UserRecord(**{**r, "guest": bool(r["guest"]), "disabled": bool(r["disabled"])})


class SqliteAccountsRepository(SqliteSideStore):
    SCHEMA = SCHEMA

    async def upgrade(self, db: aiosqlite.Connection) -> None:
        await _add_feedback_column(db)

    async def seen(self, user_id: str, data: UserSeen, now: str) -> UserRecord:
        await self._write(
            "INSERT INTO users (user_id, name, guest, last_seen) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET last_seen = excluded.last_seen,"
            " name = COALESCE(excluded.name, users.name)",
            (user_id, data.name, int(data.guest), now),
        )
        return await self.get_user(user_id)

    async def get_user(self, user_id: str) -> UserRecord:
        rows = await self._rows(f"SELECT {_USER_COLS} FROM users WHERE user_id = ?", (user_id,))
        if not rows:
            raise NotFoundError("no such user")
        return _user(rows[0])

    async def update_user(self, data: UserUpdate) -> UserRecord:
        sets: list[str] = []
        args: list[int | None] = []
        if data.disabled is not None:
            sets.append("disabled = ?")
            args.append(int(data.disabled))
        if data.tokens_per_day is not None:
            sets.append("tokens_per_day = ?")
            args.append(data.tokens_per_day or None)
        if sets:
            changed = await self._write(
                f"UPDATE users SET {', '.join(sets)} WHERE user_id = ?", (*args, data.user_id)
            )
            if not changed:
                raise NotFoundError("no such user")
        return await self.get_user(data.user_id)

    async def list_users(self, limit: int, before: str | None) -> list[UserRecord]:
        if before is None:
            rows = await self._rows(
                f"SELECT {_USER_COLS} FROM users ORDER BY last_seen DESC, user_id LIMIT ?",
                (limit,),
            )
        else:
            rows = await self._rows(
                f"SELECT {_USER_COLS} FROM users WHERE last_seen < ?"
                " ORDER BY last_seen DESC, user_id LIMIT ?",
                (before, limit),
            )
        return [_user(r) for r in rows]

    async def count_conversations(self, user_id: str) -> int:
        rows = await self._rows(
            "SELECT COUNT(*) AS n FROM conversations WHERE user_id = ?", (user_id,)
        )
        return int(rows[0]["n"])

    async def add_usage(self, record: UsageCreate) -> bool:
        changed = await self._write(
            f"INSERT INTO usage ({_USAGE_COLS}, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (message_id) DO NOTHING",
            (record.message_id, record.user_id, record.conversation_id, record.model,
             record.status, record.prompt_tokens, record.completion_tokens, record.ttft_ms,
             record.finished_at, record.day),
        )
        return changed > 0

    async def usage_between(self, start: str | None, end: str | None) -> list[UsageCreate]:
        rows = await self._rows(
            f"SELECT {_USAGE_COLS}, feedback FROM usage"
            " WHERE finished_at >= ? AND finished_at < ?",
            (start or "", end or "\uffff"),
        )
        return [UsageCreate.model_validate(dict(r), strict=False) for r in rows]

    async def set_feedback(self, message_id: str, rating: str | None) -> None:
        await self._write("UPDATE usage SET feedback = ? WHERE message_id = ?",
                          (rating, message_id))

    async def tokens_on(self, user_id: str, day: str) -> int:
        rows = await self._rows(
            "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM usage"
            " WHERE user_id = ? AND day = ?",
            (user_id, day),
        )
        return int(rows[0]["n"])
