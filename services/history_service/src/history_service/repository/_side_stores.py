"""What the stores beside the history (users and usage, files) share, per backend.

- ``SqliteSideStore``: a connection of its own to the history file (WAL lets it share the file
  with the history writer), its schema created at open, each write one ``BEGIN IMMEDIATE``
  transaction (serialised here by a lock, across processes by SQLite's write lock).
- ``MongoSideStore``: collections beside the history's on its client, their indexes created
  before the first use, transient errors retried like the history's, then ``UnavailableError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from chatbot_common.errors import UnavailableError
from pymongo.asynchronous.database import AsyncDatabase

from ._mongo_support import TRANSIENT, Doc, bounded
from ._retry import RetryPolicy

T = TypeVar("T")


class SqliteSideStore:
    SCHEMA = ""

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
        await db.executescript(self.SCHEMA)
        await self.upgrade(db)
        self._db = db

    async def upgrade(self, db: aiosqlite.Connection) -> None:
        """Bring a file of an earlier version up to ``SCHEMA`` (nothing by default)."""

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise UnavailableError("the history store is not open")
        return self._db

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            db = self.db
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise

    async def _write(self, sql: str, args: Any) -> int:
        async with self._transaction() as db:
            cursor = await db.execute(sql, args)
        return cursor.rowcount

    async def _rows(self, sql: str, args: Any) -> list[sqlite3.Row]:
        return list(await self.db.execute_fetchall(sql, args))


class MongoSideStore:
    NAME = "side"

    def __init__(self, db: AsyncDatabase[Doc], retry: RetryPolicy) -> None:
        self.db = db
        self.retry = retry
        self._indexes_ready = False

    async def _indexes(self) -> None:
        """Create this store's indexes (idempotent)."""

    async def _ready(self) -> None:
        if not self._indexes_ready:
            await self.retry.run(f"{self.NAME}_indexes", self._indexes, TRANSIENT)
            self._indexes_ready = True

    async def _do(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        return await bounded(self.retry, operation, call, before=self._ready)

    async def open(self) -> None:
        """Indexes now, or (store down) before the first use."""
        with contextlib.suppress(UnavailableError):
            await self._do(f"{self.NAME}_ping", lambda: self.db.command("ping"))

    async def close(self) -> None:
        return None  # the client belongs to the history store
