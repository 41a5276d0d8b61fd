"""The SQLite group-commit writer: batching, and isolation of a failing operation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from chatbot_common.errors import NotFoundError, UnavailableError
from history_service.repository._group_commit import GroupCommitWriter


async def open_db(path: Path) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    return db


async def keys(db: aiosqlite.Connection) -> list[str]:
    return sorted(r[0] for r in await db.execute_fetchall("SELECT k FROM t"))


class CountingConnection:
    """Delegates to the real connection, counting the COMMITs issued."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self.commits = 0

    async def execute(self, sql: str, *args: Any) -> aiosqlite.Cursor:
        if sql == "COMMIT":
            self.commits += 1
        return await self.db.execute(sql, *args)


async def test_concurrent_writes_share_transactions(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "a.db")
    counting = CountingConnection(db)
    writer = GroupCommitWriter(counting)  # type: ignore[arg-type]

    async def insert(k: str) -> str:
        async def op(conn: aiosqlite.Connection) -> str:
            await conn.execute("INSERT INTO t VALUES (?)", (k,))
            return k

        return await writer.run(op)

    results = await asyncio.gather(*(insert(f"k{i:02}") for i in range(50)))
    assert results == [f"k{i:02}" for i in range(50)]
    assert await keys(db) == results
    assert 1 <= counting.commits < 50  # batched: fewer commits than writes
    await writer.close()
    await db.close()


async def test_one_failing_operation_does_not_fail_the_others(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "b.db")
    await db.execute("INSERT INTO t VALUES ('taken')")
    writer = GroupCommitWriter(db)

    def insert(k: str) -> Callable[[aiosqlite.Connection], Awaitable[str]]:
        async def op(conn: aiosqlite.Connection) -> str:
            await conn.execute("INSERT INTO t VALUES (?)", (k,))
            return k

        return op

    async def not_found(conn: aiosqlite.Connection) -> None:
        raise NotFoundError("nope")

    ok1 = asyncio.ensure_future(writer.run(insert("a")))
    dup = asyncio.ensure_future(writer.run(insert("taken")))  # IntegrityError: aborts the batch
    missing = asyncio.ensure_future(writer.run(not_found))
    ok2 = asyncio.ensure_future(writer.run(insert("b")))
    assert await ok1 == "a" and await ok2 == "b"
    with pytest.raises(UnavailableError):
        await dup
    with pytest.raises(NotFoundError):
        await missing
    assert await keys(db) == ["a", "b", "taken"]
    await writer.close()
    await db.close()
